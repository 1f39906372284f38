"""The demo night as a PNG: prices with the planned and actual charging, and the battery over the night."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from simulator.month import SimulationRun
from simulator.timeline import NightTimeline

PLAN_COLOURS = ("#4c9be8", "#f2a541", "#8e6cc9")


def night_chart(run: SimulationRun, night: NightTimeline, path: Path) -> Path:
    """Draw the night (prices, plans, charging, SoC, job firings) and save it as a PNG."""
    zone = run.scenario.timezone
    figure, (prices_ax, soc_ax) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.2]}
    )
    intervals = [i for i in run.prices if i.end > night.start and i.start < night.end]
    xs: list[datetime] = []
    ys: list[float] = []
    for interval in intervals:
        xs += [max(interval.start, night.start), min(interval.end, night.end)]
        ys += [interval.price_per_kwh, interval.price_per_kwh]
    prices_ax.plot([x.astimezone(zone) for x in xs], ys, color="#333333", lw=1.6, label="price (PLN/kWh)")
    for index, (label, windows) in enumerate(night.plans):
        colour = PLAN_COLOURS[index % len(PLAN_COLOURS)]
        for number, (start, end) in enumerate(windows):
            prices_ax.axvspan(
                start.astimezone(zone),
                end.astimezone(zone),
                ymin=0.5 if index % 2 else 0.0,
                ymax=1.0 if index % 2 else 0.5,
                color=colour,
                alpha=0.25,
                label=f"planned: {label}" if number == 0 else None,
            )
    for number, (start, end, _kwh) in enumerate(run.system.sim.charge_log(run.system.vin)):
        if end > night.start and start < night.end:
            soc_ax.axvspan(
                start.astimezone(zone),
                end.astimezone(zone),
                color="#5cb85c",
                alpha=0.25,
                label="charging (car)" if number == 0 or not soc_ax.get_legend_handles_labels()[1] else None,
            )
    prices_ax.set_ylabel("PLN/kWh")
    prices_ax.set_ylim(min(0.0, *ys) if ys else 0.0, max(ys) * 1.1 if ys else 1.0)
    prices_ax.set_title(f"The first night — {run.scenario.name}, {run.scenario.prices} prices")
    prices_ax.legend(loc="upper left", fontsize=8)
    prices_ax.grid(alpha=0.3)

    times = [s[0].astimezone(zone) for s in night.samples]
    soc_ax.plot(times, [s[1] for s in night.samples], color="#d9534f", lw=2, label="battery (%)")
    soc_ax.step(times, [s[2] for s in night.samples], where="post", color="#777777", ls="--", label="charge limit (%)")
    for fired_at, name in night.job_fires:
        kind = "send" if "-send-" in name else "cleanup"
        soc_ax.axvline(fired_at.astimezone(zone), color="#337ab7", ls=":", lw=1.2)
        soc_ax.annotate(
            f"{kind} job",
            (fired_at.astimezone(zone), 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=8,
        )
    soc_ax.set_ylabel("%")
    soc_ax.set_ylim(0, 100)
    soc_ax.legend(loc="lower left", fontsize=8)
    soc_ax.grid(alpha=0.3)
    soc_ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    soc_ax.set_xlim(night.start.astimezone(zone), night.end.astimezone(zone))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
