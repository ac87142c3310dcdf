import no_such_module_anywhere  # noqa: F401 -- fails to import on purpose
