// Show the phrase of the hovered or focused point of the risk chart (the SVG <title> is the fallback), with a
// link to its note in the editor. Text goes in through textContent: phrases are note text, never markup.
(function () {
  const chart = document.getElementById("risk-chart");
  const detail = document.getElementById("phrase-detail");
  if (!chart || !detail) return;
  const points = Array.from(chart.querySelectorAll("g.pt"));
  function show(index) {
    const point = points[index];
    const title = point.querySelector("title");
    detail.textContent = title ? title.textContent + " " : "";
    if (point.dataset.href) {
      const link = document.createElement("a");
      link.href = point.dataset.href;
      link.className = "detail-note-link";
      link.textContent = "Open note " + (point.dataset.note || "");
      detail.appendChild(link);
    }
    points.forEach((p, i) => p.classList.toggle("active", i === index));
  }
  points.forEach((point, index) => {
    point.addEventListener("mouseenter", () => show(index));
    (point.closest("a") || point).addEventListener("focus", () => show(index));
  });
})();
