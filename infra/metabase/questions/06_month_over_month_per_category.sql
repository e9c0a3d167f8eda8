-- Question: Month-over-month change of viewing time per category
-- Chart: table (change_share as a percentage)
-- Table: viewing_trends, summed by month. previous_hours and change_share are NULL when the
-- month before has no row of the category; a month counts only its days in the table.
WITH days AS (
  SELECT
    DATE_SUB(date, INTERVAL DAYOFMONTH(date) - 1 DAY) AS month,
    category,
    total_seconds
  FROM viewing_trends
),
monthly AS (
  SELECT month, category, SUM(total_seconds) AS total_seconds
  FROM days
  GROUP BY month, category
)
SELECT
  cur.month,
  cur.category,
  cur.total_seconds / 3600 AS hours,
  prev.total_seconds / 3600 AS previous_hours,
  (cur.total_seconds - prev.total_seconds) / NULLIF(prev.total_seconds, 0) AS change_share
FROM monthly AS cur
LEFT JOIN monthly AS prev
  ON prev.category = cur.category
  AND prev.month = cur.month - INTERVAL 1 MONTH
ORDER BY cur.month DESC, cur.category
