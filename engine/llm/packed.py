"""Weight-only quantized matmuls for the CPU, on torch's packed kernels.

- int4: per group of 32 input channels a scale and an offset (w ≈ q·scale + minimum, q in 0..15),
  through `torch._weight_int4pack_mm_for_cpu`. For the embedded GGUF this is no further loss:
  its block weights are Q4_1, exactly this format.
- int8: one scale per output channel, through `torch._weight_int8pack_mm`.
Both kernels take bf16 activations: their float32 paths are not vectorized (measured 10× slower
on this machine's AVX2 cores).

`PackedWeight` is the bare matmul (bf16 in, bf16 out) that the lean decoder (engine/llm/decode.py)
calls; the `nn.Module` wrappers put the same packed weights into a transformers model.
"""

from __future__ import annotations

import functools

INT4_GROUP = 32


def int4_quantize(weight, torch, group_size: int = INT4_GROUP):
    """(q, scales_and_zeros): int32 codes 0..15 (out × in) and, per group, the bf16 scale and the
    value at q = 8, in the layout torch's int4 kernel reads ((in / group) × out × 2)."""
    weight = weight.detach().float()
    out_features, in_features = weight.shape
    groups = weight.reshape(out_features, in_features // group_size, group_size)
    low, high = groups.amin(dim=-1, keepdim=True), groups.amax(dim=-1, keepdim=True)
    scale = ((high - low) / 15.0).clamp(min=1e-12)
    q = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32).reshape(out_features, in_features)
    # The kernel computes (q - 8)·scale + zero, so zero is the group's value at q = 8.
    zero = low + 8 * scale
    scales_and_zeros = torch.stack([scale.reshape(out_features, -1).t(), zero.reshape(out_features, -1).t()],
                                   dim=-1).contiguous().to(torch.bfloat16)
    return q, scales_and_zeros


def int4_pack(weight, torch, group_size: int = INT4_GROUP):
    """(packed, scales_and_zeros) for a float weight (out × in); in must divide by `group_size`."""
    q, scales_and_zeros = int4_quantize(weight, torch, group_size)
    return torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1), scales_and_zeros


def int4_packable(out_features: int, in_features: int, group_size: int = INT4_GROUP) -> bool:
    return in_features % group_size == 0 and out_features % 16 == 0


def int8_pack(weight, torch):
    """(int8 weight, float32 scale per output channel) for a float weight (out × in)."""
    weight = weight.detach().float()
    scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    qweight = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
    return qweight.contiguous(), scales


class PackedWeight:
    """y = x @ Wᵀ for a float weight W (out × in) stored as `kind` ("int4", "int8", "bfloat16" or
    "float32"). Call with a 2-D tensor of dtype `input_dtype`; the result has that dtype too.

    The packed kernels are built for one row at a time (decoding). For many rows (a long prompt),
    `many_rows` dequantizes the weight to float32 for the call and runs a dense matmul: measured
    here on 1,000 rows, 1.3-3x faster than the int4 kernel (engine/llm/decode.py says from how
    many rows). For int4 it keeps the 4-bit codes twice (the kernel's packing is opaque), half a
    byte per weight more."""

    def __init__(self, weight, kind: str, torch, group_size: int = INT4_GROUP):
        self.kind, self.torch = kind, torch
        self.out_features, self.in_features = weight.shape
        if kind == "int4" and not int4_packable(self.out_features, self.in_features, group_size):
            kind = self.kind = "int8"  # the kernel cannot pack this shape; int8 takes any
        if kind == "int4":
            q, self.scales_and_zeros = int4_quantize(weight, torch, group_size)
            self.packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
            self.nibbles = (q[:, 0::2] | (q[:, 1::2] << 4)).to(torch.uint8)  # two codes a byte
            self.group_size = group_size
            self.input_dtype = torch.bfloat16
        elif kind == "int8":
            self.qweight, scales = int8_pack(weight, torch)
            self.scales = scales.to(torch.bfloat16)
            self.input_dtype = torch.bfloat16
        elif kind in ("bfloat16", "float32"):
            self.input_dtype = getattr(torch, kind)
            self.weight = weight.detach().to(self.input_dtype).contiguous()
        else:
            raise ValueError(f"unknown weight kind {kind!r}")

    def __call__(self, x):
        torch = self.torch
        if self.kind == "int4":
            return torch._weight_int4pack_mm_for_cpu(x, self.packed, self.group_size, self.scales_and_zeros)
        if self.kind == "int8":
            return torch._weight_int8pack_mm(x, self.qweight, self.scales)
        return torch.nn.functional.linear(x, self.weight)

    def dense(self):
        """W as a float32 (out × in) tensor, as the kernel sees it."""
        torch = self.torch
        if self.kind == "int4":
            q = torch.stack([self.nibbles & 15, self.nibbles >> 4], dim=-1).reshape(
                self.out_features, self.in_features // self.group_size, self.group_size).float()
            scale, zero = self.scales_and_zeros.float().permute(1, 0, 2).unbind(-1)  # (out, groups) each
            return torch.addcmul((zero - 8 * scale)[..., None], q, scale[..., None]).reshape(
                self.out_features, self.in_features)
        if self.kind == "int8":
            return self.qweight.float() * self.scales.float()[:, None]
        return self.weight.float()

    def many_rows(self, x):
        """x (float32, many rows) @ Wᵀ in float32."""
        return self.torch.nn.functional.linear(x, self.dense())


def quantize_weights_int8(model, torch, only_head: bool = False) -> None:
    """Replace every nn.Linear of `model` (the tied output head included), or only the head, by a weight-only int8 one."""
    head = model.get_output_embeddings()
    if head is not None and head.weight is model.get_input_embeddings().weight:
        untied = torch.nn.Linear(head.in_features, head.out_features, bias=False,
                                 dtype=head.weight.dtype, device=head.weight.device)
        untied.weight = torch.nn.Parameter(head.weight.detach().clone(), requires_grad=False)
        model.set_output_embeddings(untied)
    if only_head:
        head = model.get_output_embeddings()
        if isinstance(head, torch.nn.Linear):
            model.set_output_embeddings(int8_linear(head, torch))
        return
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, int8_linear(child, torch))


def quantize_weights_int4(model, torch, group_size: int = INT4_GROUP) -> None:
    """Replace each nn.Linear of a bf16 `model` by a weight-only int4 one; the output head becomes int8.

    Linears the kernel cannot pack (input width not a multiple of `group_size`, output width not a
    multiple of 16) stay as they are."""
    quantize_weights_int8(model, torch, only_head=True)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and int4_packable(child.out_features, child.in_features, group_size):
                setattr(module, name, int4_linear(child, torch, group_size))


def int4_linear(linear, torch, group_size: int = INT4_GROUP):
    """A weight-only int4 module copy of `linear`."""
    packed, scales_and_zeros = int4_pack(linear.weight, torch, group_size)
    bias = None if linear.bias is None else linear.bias.detach()
    return int4_linear_class()(packed, scales_and_zeros, bias, group_size, linear.out_features, linear.in_features)


def int8_linear(linear, torch):
    """A weight-only int8 module copy of `linear`: int8 rows with one float scale per output channel."""
    qweight, scales = int8_pack(linear.weight, torch)
    bias = None if linear.bias is None else linear.bias.detach()
    return int8_linear_class()(qweight, scales.to(linear.weight.dtype), bias)


@functools.cache
def int4_linear_class():
    import torch  # defined on first use so importing this module stays light

    class Int4WeightOnlyLinear(torch.nn.Module):
        """y = x @ dequantized(packed).T + bias, through torch's packed int4 CPU matmul (bf16 activations)."""

        def __init__(self, packed, scales_and_zeros, bias, group_size, out_features, in_features):
            super().__init__()
            self.register_buffer("packed", packed)
            self.register_buffer("scales_and_zeros", scales_and_zeros)
            self.register_buffer("bias", bias)
            self.group_size, self.out_features, self.in_features = group_size, out_features, in_features

        def forward(self, x):
            flat = x.reshape(-1, self.in_features).to(torch.bfloat16)
            y = torch._weight_int4pack_mm_for_cpu(flat, self.packed, self.group_size, self.scales_and_zeros)
            y = y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)
            return y if self.bias is None else y + self.bias

    return Int4WeightOnlyLinear


@functools.cache
def int8_linear_class():
    import torch  # defined on first use so importing this module stays light

    class Int8WeightOnlyLinear(torch.nn.Module):
        """y = x @ (qweight * scales[:, None]).T + bias, through torch's packed int8 matmul."""

        def __init__(self, qweight, scales, bias):
            super().__init__()
            self.register_buffer("qweight", qweight.contiguous())
            self.register_buffer("scales", scales)
            self.register_buffer("bias", bias)
            self.out_features, self.in_features = qweight.shape

        def forward(self, x):
            y = torch._weight_int8pack_mm(x.reshape(-1, self.in_features), self.qweight, self.scales.to(x.dtype))
            y = y.reshape(*x.shape[:-1], self.out_features)
            return y if self.bias is None else y + self.bias

    return Int8WeightOnlyLinear
