"""Keras-style text summary of a model: layer, output shape, parameter count (and, for a functional
model, what each layer is connected to)."""

from __future__ import annotations

__all__ = ["format_summary", "layer_connections"]


def _shape(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_shape(item) for item in shape) + "]"
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def layer_connections(model) -> dict[str, list[str]]:
    """For a functional model, each layer's inputs as Keras prints them: ``"dense[0][0]"``."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return {}
    connections: dict[str, list[str]] = {}
    for node in nodes:
        sources = []
        for tensor in node.inputs:
            producer = tensor.layer
            index = producer._inbound_nodes.index(tensor.node) if tensor.node in producer._inbound_nodes else 0
            sources.append(f"{producer.name}[{index}][{tensor.index}]")
        connections.setdefault(node.layer.name, []).extend(sources)
    return connections


def format_summary(model) -> str:
    connections = layer_connections(model)
    rows = [(f"{layer.name} ({type(layer).__name__})", _shape(layer.output_shape_), f"{layer.count_params():,}",
             ", ".join(connections.get(layer.name, [])) or ("-" if connections else ""))
            for layer in model.layers]
    headers = ("Layer (type)", "Output Shape", "Param #", "Connected to" if connections else "")
    columns = 4 if connections else 3
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) + 2 for i in range(columns)]
    line = "-" * sum(widths)

    def row(cells) -> str:
        text = cells[0].ljust(widths[0]) + cells[1].ljust(widths[1]) + cells[2].rjust(widths[2])
        return text + ("  " + cells[3] if columns == 4 else "")

    lines = [f'Model: "{model.name}"', line, row(headers), "=" * sum(widths)]
    lines += [row(cells) for cells in rows]
    total = model.count_params()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += ["=" * sum(widths),
              f"Total params: {total:,} ({total * 4 / 1024:.2f} KB)",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              line]
    return "\n".join(lines)
