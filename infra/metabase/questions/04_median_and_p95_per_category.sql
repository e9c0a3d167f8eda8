-- Question: Median and 95th percentile of viewing time per viewer, per category (latest month)
-- Chart: bar; x = category, two bars: median_hours and p95_hours
-- Table: content_engagement (over the contracts that watched the category; linear
-- interpolation between order statistics)
SELECT
  category,
  median_seconds / 3600 AS median_hours,
  p95_seconds / 3600 AS p95_hours,
  viewers
FROM content_engagement
WHERE month = (SELECT MAX(month) FROM content_engagement)
ORDER BY category
