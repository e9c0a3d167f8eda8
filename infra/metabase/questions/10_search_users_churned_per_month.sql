-- Question: Search users whose taste is Churned, per month
-- Chart: bar; x = month, y = churned_users
-- Table: customer_search_stats. Churned = searched in M-1, not in M. These user_ids come from
-- another id system than the contracts: counted here, never matched to churn_risk.
SELECT
  month,
  SUM(taste = 'Churned') AS churned_users,
  SUM(taste IN ('Unchanged', 'Changed', 'Churned')) AS previous_month_users,
  SUM(taste = 'Churned') / NULLIF(SUM(taste IN ('Unchanged', 'Changed', 'Churned')), 0)
    AS churned_share
FROM customer_search_stats
GROUP BY month
ORDER BY month
