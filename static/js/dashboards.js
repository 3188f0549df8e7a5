/* Draws the dashboards' charts (Chart.js) from the figures each chart fragment carries as JSON
   (json_script): no inline script, no figures in strings. A fragment arrives through htmx, so
   charts are drawn when htmx reports new content ("htmx:load"), and once on page load. */
(function () {
  "use strict";

  const COLOURS = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545", "#20c997", "#ffc107",
    "#0dcaf0", "#d63384", "#6c757d", "#6610f2", "#adb5bd", "#495057", "#8c6d31", "#3d8bfd",
    "#a3cfbb"];
  const language = document.documentElement.lang || undefined;

  function formatter(kind) {
    const options = {
      money: { minimumFractionDigits: 2, maximumFractionDigits: 2 },
      percent: { minimumFractionDigits: 1, maximumFractionDigits: 1 },
      score: { minimumFractionDigits: 2, maximumFractionDigits: 2 },
    }[kind] || { maximumFractionDigits: 0 };
    const format = new Intl.NumberFormat(language, options);
    return function (value) {
      if (value === null || value === undefined) {
        return "";
      }
      return format.format(value) + (kind === "percent" ? " %" : "");
    };
  }

  // Axis ticks: large amounts shortened ("12M"), percentages with their sign.
  function tickFormatter(kind) {
    const compact = new Intl.NumberFormat(language, { notation: "compact", maximumFractionDigits: 1 });
    return function (value) {
      if (kind === "percent") {
        return compact.format(value) + " %";
      }
      return kind === "score" ? formatter(kind)(value) : compact.format(value);
    };
  }

  function axisOptions(datasets, axis, position) {
    const onAxis = datasets.filter(function (set) { return set.axis === axis; });
    if (!onAxis.length) {
      return null;
    }
    const kind = onAxis[0].kind;
    const options = {
      position: position,
      beginAtZero: true,
      title: { display: true, text: onAxis.map(function (set) { return set.label; }).join(" / ") },
      ticks: { callback: tickFormatter(kind) },
      grid: { drawOnChartArea: axis === "y" },
    };
    if (kind === "score") {
      options.min = 1;
      options.max = 5;
      options.beginAtZero = false;
    }
    if (kind === "percent") {
      options.suggestedMax = 100;
    }
    return options;
  }

  function config(spec) {
    const tooltip = {
      callbacks: {
        label: function (context) {
          const set = spec.datasets[context.datasetIndex];
          return set.label + ": " + formatter(set.kind)(context.raw);
        },
      },
    };
    if (spec.drawing === "doughnut") {
      const set = spec.datasets[0];
      return {
        type: "doughnut",
        data: {
          labels: spec.labels,
          datasets: [{ label: set.label, data: set.data, backgroundColor: COLOURS }],
        },
        options: { maintainAspectRatio: false, plugins: { legend: { position: "right" }, tooltip: tooltip } },
      };
    }
    const horizontal = spec.drawing === "hbar";
    const datasets = spec.datasets.map(function (set, index) {
      const colour = COLOURS[index % COLOURS.length];
      return {
        type: set.plot === "line" ? "line" : "bar",
        label: set.label,
        data: set.data,
        backgroundColor: set.plot === "line" ? colour : colour + "cc",
        borderColor: colour,
        yAxisID: horizontal ? undefined : set.axis,
        xAxisID: horizontal ? "x" : undefined,
        spanGaps: true,
        tension: 0.2,
        order: set.plot === "line" ? 0 : 1,
      };
    });
    const scales = {};
    if (horizontal) {
      scales.x = axisOptions(spec.datasets, "y", "bottom");
      scales.x.grid = {};
      // Every city named, not every other one.
      scales.y = { ticks: { autoSkip: false } };
    } else {
      scales.y = axisOptions(spec.datasets, "y", "left");
      const right = axisOptions(spec.datasets, "y1", "right");
      if (right) {
        scales.y1 = right;
      }
    }
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: spec.datasets.length > 1 }, tooltip: tooltip },
        scales: scales,
      },
    };
  }

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") {
      return;
    }
    const source = document.getElementById(canvas.dataset.dashboardChart);
    if (!source) {
      return;
    }
    canvas.dataset.drawn = "1";
    new window.Chart(canvas, config(JSON.parse(source.textContent)));
  }

  function drawWithin(root) {
    if (root.matches && root.matches("canvas[data-dashboard-chart]")) {
      draw(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll("canvas[data-dashboard-chart]").forEach(draw);
    }
  }

  document.addEventListener("htmx:load", function (event) { drawWithin(event.target); });
  document.addEventListener("DOMContentLoaded", function () { drawWithin(document); });
}());
