"""Run outputs written after every auditing run, beside ``results.json``.

One module per output (``html``, ``junit``, ``history``...), each with::

    ORDER = 50                                   # optional: lower runs first
    def add_arguments(parser): ...               # its flags on check/run
    def write(run: dict, args, out_dir: Path) -> list[Path]: ...   # files written

``run`` is the run dict of the JSON contract (``audit.contract.run_dict``).
"""
