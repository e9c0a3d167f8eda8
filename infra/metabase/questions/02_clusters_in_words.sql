-- Question: The clusters in words, with their sizes (latest month)
-- Chart: table
-- Table: customer_clusters (cluster 1 is the largest; hours, active_days and the shares are
-- the centroid's)
SELECT
  cluster,
  description,
  customers,
  share,
  hours,
  active_days,
  share_Giai_Tri,
  share_Phim_Truyen,
  share_The_Thao,
  share_Thieu_Nhi,
  share_Truyen_Hinh
FROM customer_clusters
WHERE month = (SELECT MAX(month) FROM customer_clusters)
ORDER BY cluster
