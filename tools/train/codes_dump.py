"""`<name>.codes.bin`: activation codes of every quantized tensor for the first N test images.

Layout (all integers little-endian; README.md documents it for readers in other languages):
    offset 0        8 bytes   ASCII magic 'FKBCODE1'
    offset 8        4 bytes   uint32 H, the byte length of the JSON header
    offset 12       H bytes   UTF-8 JSON header (below)
    offset 12 + H   the body: N label bytes (uint8, 0-9), then each tensor's codes in header order,
                    each tensor as N * prod(shape) int8 values, image-major (image 0's whole tensor,
                    then image 1's, ...), each image's tensor in `layout` order (NCHW: C, H, W).
Header: {"format": "fkb-codes-v1", "images": N, "imageSet": "t10k", "imageIndices": [0, N-1],
         "labelsOffset": 0, "tensors": [{"name", "shape" (per image), "layout", "bits", "scale",
         "zeroPoint", "qmin", "qmax", "offset" (into the body), "bytes"}]}
`scale` is the float32 step as a JSON number that converts back to the same float32.
"""
import json
import struct

import numpy as np

from qdq_export import write_atomic

MAGIC = b'FKBCODE1'
FORMAT = 'fkb-codes-v1'


def encode(labels, tensors):
    """labels: uint8 [N]; tensors: list of dicts {name, codes (int8 [N, ...]), bits, scale, zeroPoint, qmin, qmax}."""
    n = len(labels)
    body = [np.asarray(labels, np.uint8).tobytes()]
    offset = n
    entries = []
    for t in tensors:
        codes = np.ascontiguousarray(t['codes'], dtype=np.int8)
        if codes.shape[0] != n:
            raise AssertionError(f"{t['name']}: {codes.shape[0]} images, expected {n}")
        shape = list(codes.shape[1:])
        entries.append({
            'name': t['name'], 'shape': shape, 'layout': 'NCHW' if len(shape) == 3 else 'NC' if len(shape) == 1 else 'row-major',
            'bits': t['bits'], 'scale': float(np.float32(t['scale'])), 'zeroPoint': t['zeroPoint'],
            'qmin': t['qmin'], 'qmax': t['qmax'], 'offset': offset, 'bytes': codes.nbytes,
        })
        body.append(codes.tobytes())
        offset += codes.nbytes
    header = json.dumps({'format': FORMAT, 'images': n, 'imageSet': 't10k', 'imageIndices': [0, n - 1],
                         'labelsOffset': 0, 'tensors': entries}, separators=(',', ':')).encode('utf-8')
    return MAGIC + struct.pack('<I', len(header)) + header + b''.join(body)


def decode(data):
    """(header dict, labels uint8 [N], {name: int8 [N, *shape]}) of a codes.bin file's bytes."""
    if data[:8] != MAGIC:
        raise ValueError('not an FKBCODE1 file')
    (h,) = struct.unpack('<I', data[8:12])
    header = json.loads(data[12:12 + h].decode('utf-8'))
    body = memoryview(data)[12 + h:]
    n = header['images']
    labels = np.frombuffer(body[:n], np.uint8)
    tensors = {}
    for t in header['tensors']:
        tensors[t['name']] = np.frombuffer(body[t['offset']:t['offset'] + t['bytes']], np.int8).reshape([n] + t['shape'])
    return header, labels, tensors


def write(path, labels, tensors):
    data = encode(labels, tensors)
    write_atomic(path, data)
    return len(data)
