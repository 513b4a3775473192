"""``training_curve.png``: training loss and validation accuracy per epoch."""

from __future__ import annotations

from pathlib import Path


def plot_curve(
    train_loss: list[float], val_accuracy: list[float], path: Path, title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in servers and tests
    from matplotlib.figure import Figure

    epochs = list(range(1, len(train_loss) + 1))
    figure = Figure(figsize=(7, 3.2), dpi=100)
    loss_axis, acc_axis = figure.subplots(1, 2)
    loss_axis.plot(epochs, train_loss, color="tab:blue")
    loss_axis.set(title="training loss", xlabel="epoch")
    acc_axis.plot(epochs, val_accuracy, color="tab:green")
    acc_axis.set(title="validation accuracy", xlabel="epoch", ylim=(0, 1.01))
    acc_axis.grid(alpha=0.3)
    loss_axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, format="png")
