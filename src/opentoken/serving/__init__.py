"""``opentoken serve``: one server process (``run.py``), or a supervisor and N worker processes on one port
(``supervisor.py``, ``worker.py``)."""
