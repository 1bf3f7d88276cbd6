// Show the phrase of the hovered or focused point of the risk chart (the SVG <title> is the fallback).
(function () {
  const chart = document.getElementById("risk-chart");
  const detail = document.getElementById("phrase-detail");
  if (!chart || !detail) return;
  const points = Array.from(chart.querySelectorAll("g.pt"));
  function show(index) {
    const title = points[index].querySelector("title");
    detail.textContent = title ? title.textContent : "";
    points.forEach((p, i) => p.classList.toggle("active", i === index));
  }
  points.forEach((point, index) => {
    point.addEventListener("mouseenter", () => show(index));
    point.addEventListener("focus", () => show(index));
  });
})();
