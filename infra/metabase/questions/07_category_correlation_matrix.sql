-- Question: Correlation of viewing time between categories (latest month)
-- Chart: pivot table, built here in SQL (Metabase pivots only query-builder questions): one row
-- per category_a, one column per category_b; shown as a table with a colour range from -1 to 1
-- Table: category_correlation (Pearson r across contracts; NULL where a total is constant)
SELECT
  category_a AS category,
  MAX(CASE WHEN category_b = 'Giai Tri' THEN pearson END) AS `Giai Tri`,
  MAX(CASE WHEN category_b = 'Phim Truyen' THEN pearson END) AS `Phim Truyen`,
  MAX(CASE WHEN category_b = 'The Thao' THEN pearson END) AS `The Thao`,
  MAX(CASE WHEN category_b = 'Thieu Nhi' THEN pearson END) AS `Thieu Nhi`,
  MAX(CASE WHEN category_b = 'Truyen Hinh' THEN pearson END) AS `Truyen Hinh`
FROM category_correlation
WHERE month = (SELECT MAX(month) FROM category_correlation)
GROUP BY category_a
ORDER BY category_a
