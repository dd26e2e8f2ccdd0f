"""Tables, figures and the report written from finished study cells."""
