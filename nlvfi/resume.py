"""Resuming an interrupted ``nlvfi repair``: its measurements and generated frames, kept beside OUT.

Method: METHOD.md §4 steps 1 and 3 (¶0230–0234: measure every adjacent difference; ¶0218–0220:
generate each missing frame). Those are the two slow parts of a repair: the first pass decodes
the whole video, and the generator takes seconds per frame on a CPU (the model-time column of
results/repair_quality.md). The ground rule that every long-running job can be interrupted and
resumed applies to them: a repair stopped by Ctrl-C or SIGTERM keeps what it measured and
generated in a folder beside the output, ``OUT.nlvfi-resume/``, and the same command run again
starts from there. The output itself is written to a temporary file and renamed at the end, so
there is no half-written output to continue; but the video packets the encoder gave are kept
too, and the run that goes on muxes them in place of encoding those frames again
(:mod:`nlvfi.kept_encoding`: on a long video the encoder, not the model, is the slow part).

What is kept, and when it is used:

- ``key.json``: what the kept work depends on: the input (its resolved path, size, modification
  time, and a SHA-1 of its first and last MiB; for an image sequence, every file's name, size
  and time), the generator's weights (SHA-256 of the tensors,
  :func:`nlvfi.checkpoint.weights_digest`), the inference settings that change a generated frame
  (views, flow prior, flow scale, static blending, outside average, tiles) and nlvfi's version.
  A folder whose key differs (another input, model or setting) is discarded and the run starts
  over; a folder by that name that is not one of ours is refused, never deleted.
- ``measure.npz``: the first pass's per-pair MAD, peak and changed share, and every frame's
  timestamp. The detection is computed again from them (it takes milliseconds), so a resumed run
  may use another ``--threshold`` or ``--max-run``. Interrupted while measuring, the first pass
  keeps the pairs it measured (``partial``); the next run decodes those frames again, checks
  their timestamps, and measures from where it stopped (``nlvfi.repair.analyze_video``).
- ``encoded.bin`` and ``encoded.json``: the encoded video packets of the frames written before
  the interrupt that decode on their own, and what they depend on (:mod:`nlvfi.kept_encoding`);
  used when this run's encoder, container and settings and its way of making those frames (the
  same repaired runs, times and outside frames) are the same; else every frame is encoded.
- ``run-<first frame>.npz``: one run's generated frames, (k, H, W, 3) uint8 or uint16, exactly as
  they are written, zlib-compressed, with the run's frames, times and outside frames. A run is
  reused only when all of those match the run the current detection asks for.

The work does not depend on the output's name: when ``OUT.nlvfi-resume/`` is not there but a folder
beside it holds the kept work of the same input, model and settings (an interrupted run that
wrote another name, ``-o repaired.mp4`` then ``-o fixed.mp4``), that folder is renamed to this
run's and its work used (:func:`kept_work_beside`), so the earlier work is neither lost nor left
behind; the report names it.

Every file is written to a temporary name and renamed, so an interrupt never leaves a half file
that would be read back. A file that cannot be read back (a disk error, a truncated copy) is
ignored and its work done again. The folder is deleted when the run succeeds, and when it fails
for any reason other than an interrupt (the same command would fail the same way); ``--no-resume``
neither reads nor keeps it. Disk use: the generated frames only, which is what lets the slow
part be skipped: about 0.7 x k x H x W x 3 bytes for k 8-bit frames of natural footage (3.2 MB
for 14 frames of the bundled 384x288 clip). While the disk has less than 1 GiB free
(``RESERVE_BYTES``) nothing more is kept and the run goes on (the report counts what was not
kept).

``nlvfi interpolate --factor`` keeps its work the same way, one file per gap between two input
frames (``gap-<frame>.npz``: the F - 1 frames generated before that input frame); every frame
of the output but the input's own goes through the generator there, so the folder grows to about
the size of those frames, zlib-compressed.
The arrays are read back with ``allow_pickle=False``: nothing kept here executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .checkpoint import weights_digest
from .input_rate import declared_rate_of, rate_text
from .kept_encoding import PacketLog, load_kept_encoding, sealed_frames
from .videoio import is_image_pattern, sequence_first_number

SUFFIX = ".nlvfi-resume"
FORMAT = 1
RESERVE_BYTES = 1 << 30  # keeping generated frames stops while the disk has less than this free
_EDGE_BYTES = 1 << 20  # the input's first and last MiB go into its fingerprint


def folder_for(output: str | os.PathLike) -> Path:
    """Where the work of a repair writing ``output`` is kept: ``OUT.nlvfi-resume`` beside it."""
    output = Path(output)
    return output.with_name(output.name + SUFFIX)


def input_fingerprint(path: str | os.PathLike) -> dict:
    """What identifies an input without reading it all: path, size, time, first and last MiB.

    An image sequence (``frames/%04d.png``) gives every file's name, size and time instead. A
    rate declared for it (``--input-rate``, nlvfi.input_rate) is part of it.
    """
    path = Path(path)
    declared = declared_rate_of(path)  # --input-rate: the same files read at another rate time every frame anew
    if declared is not None:
        return {**_files_fingerprint(path), "input_rate": rate_text(declared)}
    return _files_fingerprint(path)


def _files_fingerprint(path: Path) -> dict:
    """:func:`input_fingerprint` of the files alone."""
    if is_image_pattern(path):
        first = sequence_first_number(path) or 0
        files = []
        index = first
        while (path.parent / (path.name % index)).is_file():
            stat = (path.parent / (path.name % index)).stat()
            files.append([path.name % index, stat.st_size, stat.st_mtime_ns])
            index += 1
        return {"sequence": str(path.resolve()), "files": files}
    stat = path.stat()
    edges = hashlib.sha1()
    with open(path, "rb") as f:
        edges.update(f.read(_EDGE_BYTES))
        if stat.st_size > _EDGE_BYTES:
            f.seek(max(_EDGE_BYTES, stat.st_size - _EDGE_BYTES))
            edges.update(f.read())
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "edges_sha1": edges.hexdigest()}


def generator_digest(generator: torch.nn.Module) -> str:
    """SHA-256 of the generator's weights (buffers too), on the CPU."""
    return weights_digest({name: tensor.detach().cpu() for name, tensor in generator.state_dict().items()})


class ResumeStore:
    """The kept work of one repair or up-conversion (module doc): measurements and generated frames.

    Args:
        folder: the folder (:func:`folder_for`); created when the first thing is kept.
        key: what the work depends on (module doc), JSON-serialisable; nlvfi's version is added.
        unit: what one kept piece of generated frames is, for messages ("run": a repaired run;
            "gap": the frames between two input frames of ``nlvfi interpolate --factor``).
        reserve_bytes: free space on the folder's disk that keeping must leave (default
            ``RESERVE_BYTES``, module doc).
    Attributes:
        resumed_runs: pieces read back from the folder by this run so far.
        taken_over: the folder another run (writing another name) kept this work in, renamed to
            ``folder`` (module doc), or None.
        kept_runs: piece files in the folder now.
        not_kept: pieces not kept because the disk was nearly full.
        note: what happened to a folder found there (resumed, or discarded and why), or "".
        encoding_note: why the encoded frames kept there were not used (nlvfi.kept_encoding), or None.
    """

    def __init__(self, folder: Path, key: dict, unit: str = "run", reserve_bytes: int | None = None):
        self.folder = Path(folder)
        self.unit = unit
        self.reserve_bytes = RESERVE_BYTES if reserve_bytes is None else reserve_bytes
        self.not_kept = 0
        self.key = json.loads(json.dumps({**key, "nlvfi": __version__}))  # as it reads back from key.json
        self.resumed_runs = 0
        self.note = ""
        self.encoding_note: str | None = None  # why kept encoded frames were not used (nlvfi.kept_encoding)
        self.taken_over = None
        marker = self.folder / "key.json"
        if not self.folder.exists() and (kept := kept_work_beside(self.folder, self.key)) is not None:
            try:
                os.rename(kept, self.folder)  # the same folder on the same disk: a rename, not a copy
                self.taken_over = kept
                self.note = f"took over the kept work of an interrupted run from {kept}"
            except OSError:  # gone meanwhile, or not ours to move: start over
                pass
        if self.folder.exists():
            try:
                kept = json.loads(marker.read_text())
                ours = isinstance(kept, dict) and kept.get("nlvfi_resume") == FORMAT
            except (OSError, ValueError):
                ours = False
            if not ours:
                raise ValueError(
                    f"{self.folder} exists and is not a folder nlvfi repair kept (no readable key.json); "
                    "move it away, or pass --no-resume"
                )
            earlier = kept.get("key") or {}
            if earlier != self.key:
                changed = sorted(k for k in set(self.key) | set(earlier) if self.key.get(k) != earlier.get(k))
                self.discard()
                self.note = f"discarded the kept work of an earlier run ({', '.join(changed)} changed)"

    @classmethod
    def beside(cls, output, source, generator: torch.nn.Module, settings: dict, unit: str = "run") -> "ResumeStore":
        """The store of a run writing ``output`` from ``source``: in :func:`folder_for` ``output``,
        keyed by the input's fingerprint, the generator's weights and ``settings`` (what else
        changes a generated frame)."""
        key = {"input": input_fingerprint(source), "generator_sha256": generator_digest(generator), "inference": settings}
        return cls(folder_for(output), key, unit=unit)

    # -- files

    def _ensure(self) -> None:
        if not (self.folder / "key.json").is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write(self.folder / "key.json", lambda f: f.write(json.dumps({"nlvfi_resume": FORMAT, "key": self.key}, indent=1).encode()))

    def _write(self, path: Path, fill) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, path: Path) -> dict | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except Exception:  # noqa: BLE001 - OSError, ValueError, BadZipFile, zlib.error ...: do the work again
            return None

    @property
    def kept_runs(self) -> int:
        return len(list(self.folder.glob(f"{self.unit}-*.npz"))) if self.folder.is_dir() else 0

    # -- the first pass

    def save_measure(self, **arrays: np.ndarray) -> None:
        """Keep the first pass's arrays (names and values as given)."""
        self._ensure()
        self._write(self.folder / "measure.npz", lambda f: np.savez(f, **arrays))

    def load_measure(self) -> dict | None:
        """The arrays :meth:`save_measure` kept, or None."""
        return self._read(self.folder / "measure.npz") if self.folder.is_dir() else None

    # -- generated runs

    def _run_path(self, first: int) -> Path:
        return self.folder / f"{self.unit}-{first:08d}.npz"

    def save_run(self, first: int, frames: np.ndarray, identity: dict, meta: dict) -> bool:
        """Keep a run's frames, (k, H, W, 3), with what identifies it and what the report counts.

        False (and nothing written) when that would leave less than ``reserve_bytes`` free on
        the disk: the kept work must not be what fills it (the output is written there too)."""
        existing = next(folder for folder in (self.folder, *self.folder.parents) if folder.exists())
        if shutil.disk_usage(existing).free < frames.nbytes + self.reserve_bytes:
            self.not_kept += 1
            return False
        self._ensure()
        record = np.array(json.dumps({"identity": identity, "meta": meta}))
        self._write(self._run_path(first), lambda f: np.savez_compressed(f, frames=frames, record=record))
        return True

    def load_run(self, first: int, identity: dict, shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, dict] | None:
        """(frames, meta) of a kept run whose identity, frame shape and dtype match; else None."""
        if not self.folder.is_dir():
            return None
        data = self._read(self._run_path(first))
        if data is None or "frames" not in data or "record" not in data:
            return None
        try:
            record = json.loads(str(data["record"]))
        except ValueError:
            return None
        frames = data["frames"]
        if record.get("identity") != json.loads(json.dumps(identity)) or frames.shape != shape or frames.dtype != dtype:
            return None
        self.resumed_runs += 1
        return frames, record.get("meta", {})

    # -- the encoded frames (nlvfi.kept_encoding)

    def log_encoding(self, writer, frames_identity, reuse: bool = True) -> PacketLog:
        """Log the encoded packets of ``writer`` (a ``nlvfi.videoio.VideoWriter``) here, and have it
        start from the ones an interrupted run kept (``reuse``; nlvfi.kept_encoding) when its
        encoder and its way of making those frames (``frames_identity(n)``) are the same; else
        ``encoding_note`` says why, when some were kept."""
        kept = None
        if reuse and self.folder.is_dir():
            kept, why = load_kept_encoding(self.folder, writer.identity, frames_identity)
            self.encoding_note = why or None
        if kept is not None:
            writer.reuse(kept)
        self._ensure()
        log = PacketLog(self.folder, writer.identity, self.reserve_bytes, kept)
        writer.keep_packets(log)
        return log

    def outcome(self) -> dict:
        """What the reports say of the folder: where it is, what happened to one found there
        (``note``), and the folder of another run it took over (``taken_over_from``), or None."""
        taken_over = None if self.taken_over is None else str(self.taken_over)
        return {"folder": str(self.folder), "note": self.note or None, "taken_over_from": taken_over}

    def kept_text(self) -> str:
        """What an interrupted run leaves in the folder, for the interrupt message."""
        measured = self.load_measure() if (self.folder / "measure.npz").is_file() else None
        parts = []
        if measured is not None:
            whole = "partial" not in measured
            parts.append("the measurements" if whole else f"the measurements of the first {len(measured.get('pts', ()))} frames")
        encoded = sealed_frames(self.folder) if self.folder.is_dir() else 0
        if self.kept_runs or not (parts or encoded):
            parts.append(f"{self.kept_runs} generated {self.unit}(s)")
        if encoded:
            parts.append(f"the first {encoded} encoded frames")
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        return f"{listed} are kept in {self.folder}"

    def discard(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def kept_work_beside(folder: Path, key: dict) -> Path | None:
    """Another resume folder beside ``folder`` whose key.json holds ``key`` (module doc), the most
    recently changed one if several; None if none."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        return None
    found = []
    for other in folder.parent.glob(f"*{SUFFIX}"):
        if other == folder or not other.is_dir():
            continue
        try:
            kept = json.loads((other / "key.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(kept, dict) and kept.get("nlvfi_resume") == FORMAT and kept.get("key") == key:
            found.append((other.stat().st_mtime_ns, other))
    return max(found)[1] if found else None


def taken_over_text(outcome: dict) -> str:
    """" (kept as X by a run writing another name)" for a :meth:`ResumeStore.outcome` that took
    another run's folder over, else "": what the summaries add after the folder's name."""
    taken = outcome.get("taken_over_from")
    return f" (kept as {taken} by a run writing another name)" if taken else ""


@contextmanager
def kept_if_interrupted(store: ResumeStore | None) -> Iterator[None]:
    """Around a repair: keep ``store``'s folder on an interrupt (Ctrl-C, SIGTERM), with a note on
    the exception (``resume_note``, printed by ``nlvfi.cli.guarded_main``); delete it on success
    and on any other error (module doc). ``None``: resuming is off, nothing to do."""
    if store is None:
        yield
        return
    try:
        yield
    except KeyboardInterrupt as interrupt:
        if store.folder.is_dir():
            interrupt.resume_note = f"{store.kept_text()}; run the same command again to go on from there"
        raise
    except BaseException:
        store.discard()
        raise
    store.discard()
