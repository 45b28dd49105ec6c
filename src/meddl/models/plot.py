"""``plot_model``: a model's graph as text, or as a PNG drawn with matplotlib (no Graphviz needed)."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.io import atomic_write_bytes, atomic_write_text
from meddl.models.summary import _shape, layer_connections

__all__ = ["plot_model", "model_graph"]


def model_graph(model) -> list[tuple[str, str, list[str]]]:
    """``[(layer name, label, [names of the layers it reads from])]`` in execution order."""
    model._require_built("plot the model")
    connections = layer_connections(model)
    graph = []
    previous: list[str] = []
    for layer in model.layers:
        if connections:
            sources = [item.split("[")[0] for item in connections.get(layer.name, [])]
        else:
            sources = previous
        label = f"{layer.name} ({type(layer).__name__})"
        graph.append((layer.name, label, sources))
        previous = [layer.name]
    return graph


def _text(model, show_shapes: bool) -> str:
    lines = [f'Model: "{model.name}"']
    for layer, (name, label, sources) in zip(model.layers, model_graph(model)):
        shape = f"  {_shape(layer.output_shape_)}" if show_shapes else ""
        origin = f"  <- {', '.join(sources)}" if sources else ""
        lines.append(f"{label}{shape}{origin}")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file: str | None = "model.png", show_shapes: bool = False, show_layer_names: bool = True,
               dpi: int = 96, **ignored) -> str:
    """Draw ``model`` as boxes and arrows in a PNG (``to_file`` ending ``.png``), or write it as text
    (any other name); with ``to_file=None`` only return the text.

    Returns:
        The text drawing (also for PNG output).

    Example:
        >>> import meddl
        >>> meddl.utils.plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    text = _text(model, show_shapes)
    if to_file is None:
        return text
    path = Path(to_file)
    if path.suffix.lower() != ".png":
        atomic_write_text(path, text)
        return text
    graph = model_graph(model)
    depth: dict[str, int] = {}
    for name, _, sources in graph:
        depth[name] = 1 + max((depth[s] for s in sources if s in depth), default=-1)
    rows: dict[int, list[str]] = {}
    for name, _, _ in graph:
        rows.setdefault(depth[name], []).append(name)
    position = {name: (column - (len(names) - 1) / 2, -row) for row, names in rows.items()
                for column, name in enumerate(names)}
    labels = {name: label for name, label, _ in graph}
    shapes = {layer.name: _shape(layer.output_shape_) for layer in model.layers}
    width = max(len(names) for names in rows.values())
    figure = Figure(figsize=(max(4.0, 3.2 * width), max(2.0, 0.9 * len(rows))))
    FigureCanvasAgg(figure)  # its own canvas: the user's pyplot backend and open figures are left alone
    axes = figure.subplots()
    for name, _, sources in graph:
        x, y = position[name]
        for source in sources:
            sx, sy = position[source]
            axes.annotate("", xy=(x, y + 0.22), xytext=(sx, sy - 0.22),
                          arrowprops={"arrowstyle": "->", "color": "#555555"})
        label = labels[name] if show_layer_names else labels[name].split(" ")[-1].strip("()")
        if show_shapes:
            label += "\n" + shapes[name]
        axes.text(x, y, label, ha="center", va="center", fontsize=8,
                  bbox={"boxstyle": "round,pad=0.3", "facecolor": "#e8f0fe", "edgecolor": "#3a6ea5"})
    axes.set_xlim(-width / 2 - 0.5, width / 2 + 0.5)
    axes.set_ylim(-len(rows) + 0.4, 0.6)
    axes.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    return text
