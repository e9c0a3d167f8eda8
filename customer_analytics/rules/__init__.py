"""The business rules of DESIGN.md §3, as data and portable SQL, shared by every engine."""
