"""`bankwh`, the one command line of the bank warehouse: one module per command group (see cli.COMMAND_MODULES).

Nothing else in the project imports this package; it imports the others."""
