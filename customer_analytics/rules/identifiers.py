"""The identifiers every domain keys its rows by, and the longest of each the warehouse holds.

Lengths are in characters (code points, as SQL's `length` and MySQL's VARCHAR count them): the
rules quarantine a longer value, and the schemas size the warehouse columns with the same
constant (`rules/tables.py` `field(max_length=...)`).
"""

# A trimmed Contract: the viewing log's, the CRM's.
MAX_CONTRACT_LENGTH = 255
# A trimmed user id: the search log's user_id, the clickstream's user_id, the CRM's customer_id.
MAX_USER_ID_LENGTH = 255
# A normalized search keyword, the key of keyword_category: free text, so longer than an id.
MAX_KEYWORD_LENGTH = 500
