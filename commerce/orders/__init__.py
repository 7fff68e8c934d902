"""Orders: stock allotted to a sale, atomic deduction, the order lifecycle."""
