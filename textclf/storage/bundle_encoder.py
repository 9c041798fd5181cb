"""The bundle state of a fine-tuned encoder: every weight as safetensors, the base encoder named by its hashes.

safetensors holds tensors and nothing else (a JSON header of names, dtypes, shapes and byte ranges, then the raw
numbers), so reading it runs no code. The header is checked before any tensor is built: exactly the tensors the
module holds, each float32 in its shape, byte ranges that tile the data, all within the parameter cap every
bundle keeps. The module's architecture comes from the base encoder's folder, which must hash as the bundle says
(`restore_encoder`), so a bundle never describes an architecture of its own.
"""

from __future__ import annotations

import json
import math
import zipfile

from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from textclf.errors import BundleError
from textclf.storage import bundle_checks as checks

ENCODER_INFO, ENCODER_WEIGHTS = "encoder.json", "weights.safetensors"
ENCODER_INFO_KEYS = frozenset({"sha256", "tokenizer_sha256", "bucket_boundaries"})
HEADER_LIMIT = checks.MiB


def encoder_files(estimator) -> dict[str, bytes]:
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in estimator.module_.state_dict().items()}
    count = sum(tensor.numel() for tensor in state.values())
    if count > checks.MAX_PARAMETERS:
        raise BundleError(f"This fine-tuned encoder has {count:,} parameters, more than the "
                          f"{checks.MAX_PARAMETERS:,} a bundle may hold: it cannot be saved as a bundle.")
    return {ENCODER_INFO: json.dumps(estimator.bundle_encoder()).encode(), ENCODER_WEIGHTS: save_tensors(state)}


def restore_encoder_state(estimator, archive: zipfile.ZipFile, name: str) -> None:
    info = json.loads(checks.read_member(archive, ENCODER_INFO, checks.MANIFEST_LIMIT, name))
    if not isinstance(info, dict) or not all(isinstance(info.get(key), str) for key in ("sha256", "tokenizer_sha256")):
        raise checks.refuse(name, f"{ENCODER_INFO} does not name its base encoder")
    checks.check_state_keys(info, ENCODER_INFO_KEYS, ENCODER_INFO, name)
    checks.check_vocabulary({"tokens": [], "bucket_boundaries": info.get("bucket_boundaries")}, name)
    estimator.restore_encoder(info, name)
    shapes = estimator.weight_shapes()
    count = sum(math.prod(shape) for shape in shapes.values())
    raw = checks.read_member(archive, ENCODER_WEIGHTS, checks.weights_limit(count, name), name)
    check_header(raw, shapes, name)
    estimator.restore_weights(load_tensors(raw))


def check_header(raw: bytes, shapes: dict[str, tuple[int, ...]], name: str) -> None:
    """The safetensors header against the module: the same names, float32, the same shapes, contiguous bytes."""
    size = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if not 0 < size <= min(HEADER_LIMIT, len(raw) - 8):
        raise checks.refuse(name, f"{ENCODER_WEIGHTS} has no valid header")
    header = json.loads(raw[8:8 + size])
    if not isinstance(header, dict):
        raise checks.refuse(name, f"{ENCODER_WEIGHTS} has no valid header")
    header.pop("__metadata__", None)
    checks.check_state_keys(header, shapes, ENCODER_WEIGHTS, name)
    missing = sorted(set(shapes) - set(header))
    if missing:
        raise checks.refuse(name, f"{ENCODER_WEIGHTS} lacks {', '.join(missing[:5])}")
    ranges = []
    for tensor, entry in header.items():
        declared = (entry.get("dtype"), tuple(entry.get("shape", ()))) if isinstance(entry, dict) else None
        if declared != ("F32", shapes[tensor]):
            raise checks.refuse(name, f"{ENCODER_WEIGHTS} holds {tensor[:60]} in another type or shape than the "
                                      "model's")
        start, end = entry.get("data_offsets", (0, -1))
        if end - start != 4 * math.prod(shapes[tensor]):
            raise checks.refuse(name, f"{ENCODER_WEIGHTS} gives {tensor[:60]} the wrong number of bytes")
        ranges.append((start, end))
    ranges.sort()
    if ranges[0][0] != 0 or any(a[1] != b[0] for a, b in zip(ranges, ranges[1:], strict=False)) or \
            ranges[-1][1] != len(raw) - 8 - size:
        raise checks.refuse(name, f"{ENCODER_WEIGHTS}'s tensors do not tile its data")
