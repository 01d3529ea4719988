"""Statistics that return Results: descriptive tables, proportions, contingency tests..."""
