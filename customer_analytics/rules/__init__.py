"""The business rules of docs/contract.md §3, as data and portable SQL, shared by every engine."""
