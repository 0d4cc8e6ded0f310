"""The `docker stats` numbers from real engine samples (captured from this engine, cgroup v1)."""

import json
from pathlib import Path

import pytest

from containers import stats

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "stats_samples"


@pytest.fixture
def busy():
    """Three consecutive streamed samples of busybox burning one CPU after writing a 64 MiB file."""
    return json.loads((DATA / "stats-busy-cgroup1.json").read_text())


def test_it_computes_cpu_from_the_delta_of_two_samples(busy):
    sample = busy[1]
    cpu, pre = sample["cpu_stats"], sample["precpu_stats"]
    expected = (
        (cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"])
        / (cpu["system_cpu_usage"] - pre["system_cpu_usage"])
        * 2
        * 100
    )
    u = stats.usage(sample)
    assert u.cpu_percent == pytest.approx(expected)
    assert 95 < u.cpu_percent < 105  # one of two CPUs busy: ~100% as docker stats shows it


def test_it_takes_the_delta_against_a_given_earlier_sample(busy):
    u = stats.usage(busy[2], previous_cpu=busy[0]["cpu_stats"])
    assert 95 < u.cpu_percent < 105


def test_it_has_no_cpu_figure_without_a_previous_sample(busy):
    first = dict(busy[0])
    first["precpu_stats"] = {"cpu_usage": {"total_usage": 0}, "throttling_data": {}}
    assert stats.usage(first).cpu_percent is None
    assert stats.format_usage(stats.usage(first))["cpu"] == "--"


def test_it_says_zero_when_the_container_used_no_cpu(busy):
    sample = dict(busy[1])
    sample["cpu_stats"] = {**sample["precpu_stats"], "system_cpu_usage": sample["cpu_stats"]["system_cpu_usage"]}
    assert stats.usage(sample).cpu_percent == 0.0


def test_it_leaves_inactive_page_cache_out_of_memory_usage_on_cgroup_v1(busy):
    u = stats.usage(busy[1])
    memory = busy[1]["memory_stats"]
    # the 64 MiB file the container wrote sits in the page cache and is not counted
    assert u.mem_usage == memory["usage"] - memory["stats"]["total_inactive_file"]
    assert u.mem_usage < 8 * 1024 * 1024 < memory["usage"]
    assert u.mem_limit == memory["limit"]
    assert u.mem_percent == pytest.approx(u.mem_usage / u.mem_limit * 100)


def test_it_uses_inactive_file_on_cgroup_v2():
    memory = {"usage": 10_000, "limit": 100_000, "stats": {"inactive_file": 4_000, "anon": 6_000}}
    assert stats.memory_usage(memory) == 6_000
    assert stats.memory_usage({"usage": 10_000, "stats": {"inactive_file": 20_000}}) == 10_000
    assert stats.memory_usage({}) == 0


def test_it_sums_network_and_block_io(busy):
    u = stats.usage(busy[1])
    assert (u.net_rx, u.net_tx) == (busy[1]["networks"]["eth0"]["rx_bytes"], busy[1]["networks"]["eth0"]["tx_bytes"])
    blkio = {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 100},
            {"major": 8, "minor": 0, "op": "Write", "value": 30},
            {"major": 8, "minor": 0, "op": "Sync", "value": 130},
            {"major": 8, "minor": 0, "op": "Total", "value": 130},
            {"major": 8, "minor": 16, "op": "read", "value": 5},
            {"major": 8, "minor": 16, "op": "write", "value": 7},
        ]
    }
    assert stats.block_io(blkio) == (105, 37)
    assert u.pids == 1


def test_it_knows_a_sample_of_a_stopped_container():
    stopped = json.loads((DATA / "stats-stopped.json").read_text())
    assert not stats.is_running_sample(stopped)
    assert all(stats.is_running_sample(s) for s in json.loads((DATA / "stats-busy-cgroup1.json").read_text()))


def test_it_prints_sizes_like_the_cli():
    assert stats.binary_size(2183168) == "2.082MiB"
    assert stats.binary_size(25276502016) == "23.54GiB"
    assert stats.decimal_size(586) == "586B"
    assert stats.decimal_size(1_234_567) == "1.23MB"
    assert stats.decimal_size(0) == "0B"
