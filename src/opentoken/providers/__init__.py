"""Pure translation, one folder per provider. Nothing under providers/ does I/O."""
