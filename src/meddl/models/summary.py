"""Keras-style text summary of a model: layer, output shape, parameter count."""

from __future__ import annotations

__all__ = ["format_summary"]


def _shape(shape) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def format_summary(model) -> str:
    rows = [(f"{layer.name} ({type(layer).__name__})", _shape(layer.output_shape_), f"{layer.count_params():,}")
            for layer in model.layers]
    headers = ("Layer (type)", "Output Shape", "Param #")
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) + 2 for i in range(3)]
    line = "-" * sum(widths)
    lines = [f'Model: "{model.name}"', line,
             headers[0].ljust(widths[0]) + headers[1].ljust(widths[1]) + headers[2].rjust(widths[2]), "=" * sum(widths)]
    for name, shape, params in rows:
        lines.append(name.ljust(widths[0]) + shape.ljust(widths[1]) + params.rjust(widths[2]))
    total = model.count_params()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += ["=" * sum(widths),
              f"Total params: {total:,} ({total * 4 / 1024:.2f} KB)",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              line]
    return "\n".join(lines)
