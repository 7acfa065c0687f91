"""Generates reference.safetensors, the byte-exact reference for SafetensorsWriterTest.

Run from this directory: python3 make_reference.py (needs torch and safetensors; made with
torch 2.13 cpu and safetensors 0.8.0). torch rather than numpy because numpy has no bfloat16.
The reference writer orders tensors by dtype alignment (largest first), then by name; the Java
test writes the same tensors in the order this file's header lists them. One metadata key only:
the reference keeps a hash map, so several keys could come out in any order.
"""
import torch
from safetensors.torch import save_file

tensors = {
    "f64": torch.tensor([1.5, -2.25, 1e300], dtype=torch.float64),
    "f32": torch.tensor([[0.0, 1.0, -2.5], [3.25, 1e-30, 7.0]], dtype=torch.float32),
    "f16": torch.tensor([0.5, -65504.0, 0.0001], dtype=torch.float16),
    "bf16": torch.tensor([[1.0, -3.0], [0.1, 256.0]], dtype=torch.bfloat16),
    "i64": torch.tensor([-(2**62), 0, 2**53 + 1], dtype=torch.int64),
    "i32": torch.tensor([[-7], [2**31 - 1]], dtype=torch.int32),
    "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True, True], dtype=torch.bool),
    "scalar": torch.tensor(42.0, dtype=torch.float32),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
}
save_file(tensors, "reference.safetensors", metadata={"format": "pt"})
