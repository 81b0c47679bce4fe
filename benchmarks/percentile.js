// The nearest-rank percentile of an ascending array (null when it is empty), for the load generators.
"use strict";

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

module.exports = { percentile };
