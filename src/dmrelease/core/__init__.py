"""Pure domain code: takes text and values, returns values. No I/O, no clock (STYLE.md)."""
