"""The child-process harness measures the child's own peak, never the runner's."""

from __future__ import annotations

from hostile_support import MB, python_command, run_measured


def test_a_small_child_of_a_big_runner_reports_its_own_small_peak() -> None:
    # The runner holds 600 MB; a forked child's wait4 figure would include it.
    ballast = bytearray(600 * MB)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page: resident
    run = run_measured(python_command("print('hello')"))
    assert (run.returncode, run.stdout.strip()) == (0, "hello")
    assert run.peak_rss < 100 * MB, run.describe()
    del ballast


def test_a_child_that_grows_reports_its_growth() -> None:
    run = run_measured(
        python_command("b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])")
    )
    assert run.returncode == 0, run.describe()
    assert run.peak_rss > 300 * MB, run.describe()
