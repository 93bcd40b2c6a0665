"""Pure-PyTorch reference definitions of the blocks the Swift tensor tests compare against.

No transformers / diffusers imports: every block is written out here so that the numerics are
visible in one place. Parameter names match the Swift side, which loads the same safetensors.

Blocks
------
TransformerBlock      Qwen2-style pre-norm decoder layer (RMSNorm, biased q/k/v, RoPE, causal +
                      key-padding attention, SwiGLU MLP).
ConvBlock             GroupNorm/SiLU/conv stack with depthwise and grouped convs, shortcut,
                      strided down-conv, pixel_shuffle + nearest upsample, pixel_unshuffle.
LinearAttentionBlock  SANA ReLU linear attention, numerics of diffusers' SanaLinearAttnProcessor2_0.

All blocks are dtype-generic: build them, call `.to(torch.float64)` and they compute in float64
(used to measure float32 rounding). Where the reference libraries upcast to float32 (RMSNorm,
linear attention) the blocks upcast to `promote(dtype, float32)`, so float32/bf16 inputs follow the
libraries exactly and float64 inputs stay float64.

`rerandomize_(module, seed)` re-draws every parameter as docs/ARCHITECTURE.md "Parity
fixtures" prescribes: weights 1.5/sqrt(fan_in) * N(0,1), norm weights 1 + 0.1*N, biases 0.1*N.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def _upcast_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half types, float64 stays float64 (the libraries' `.float()` / `.to(float32)`)."""
    return torch.promote_types(dtype, torch.float32)


# ----------------------------------------------------------------------------------------------
# TransformerBlock (Qwen2 decoder layer)
# ----------------------------------------------------------------------------------------------


@dataclass
class TransformerBlockConfig:
    hidden_size: int = 32
    num_heads: int = 4
    intermediate_size: int = 64
    rope_theta: float = 10000.0
    eps: float = 1e-6

    @property
    def head_dim(self) -> int:
        assert self.hidden_size % self.num_heads == 0
        return self.hidden_size // self.num_heads

    def to_json(self) -> dict:
        d = asdict(self)
        d["head_dim"] = self.head_dim
        return d


class RMSNorm(nn.Module):
    """y = x * rsqrt(mean(x^2, -1) + eps) * w, statistics in (at least) float32 like Qwen2RMSNorm."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_dtype = x.dtype
        h = x.to(_upcast_dtype(in_dtype))
        var = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(in_dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(seq_len: int, head_dim: int, theta: float, dtype: torch.dtype, device=None):
    """cos/sin [T, D] for positions 0..T-1 (inv_freq = 1/theta^(arange(0,D,2)/D), emb = cat(f, f)).

    Computed in promote(dtype, float32) (transformers computes them in float32) and returned in dtype.
    """
    cdt = _upcast_dtype(dtype)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device=device).to(cdt) / head_dim))
    pos = torch.arange(seq_len, dtype=torch.int64, device=device).to(cdt)
    freqs = torch.outer(pos, inv_freq)  # [T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, D]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B,H,T,D]; cos/sin [T,D]."""
    return x * cos + rotate_half(x) * sin


class Qwen2Attention(nn.Module):
    def __init__(self, cfg: TransformerBlockConfig):
        super().__init__()
        c = cfg.hidden_size
        self.cfg = cfg
        self.q_proj = nn.Linear(c, c, bias=True)
        self.k_proj = nn.Linear(c, c, bias=True)
        self.v_proj = nn.Linear(c, c, bias=True)
        self.o_proj = nn.Linear(c, c, bias=False)

    def forward(self, x: torch.Tensor, attention_mask: Optional[torch.Tensor] = None, use_rope: bool = True):
        b, t, c = x.shape
        h, d = self.cfg.num_heads, self.cfg.head_dim
        q = self.q_proj(x).view(b, t, h, d).transpose(1, 2)  # [B,H,T,D]
        k = self.k_proj(x).view(b, t, h, d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, h, d).transpose(1, 2)
        if use_rope:
            cos, sin = rope_cos_sin(t, d, self.cfg.rope_theta, x.dtype, x.device)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
        # q k^T / sqrt(D), written as a multiply by D^-0.5 like transformers' eager attention.
        scores = torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5)  # [B,H,T,T]
        # allowed[b, i, j]: causal (j <= i) and key j not padding.
        allowed = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        allowed = allowed.unsqueeze(0).expand(b, t, t)
        if attention_mask is not None:
            allowed = allowed & attention_mask.to(torch.bool)[:, None, :]
        # -inf for disallowed keys. Rows are never fully masked as long as key 0 is kept
        # (right padding); a fully masked row would give NaN, as in eager attention with -inf.
        scores = scores.masked_fill(~allowed[:, None, :, :], float("-inf"))
        probs = torch.softmax(scores.to(_upcast_dtype(scores.dtype)), dim=-1).to(q.dtype)
        out = torch.matmul(probs, v)  # [B,H,T,D]
        out = out.transpose(1, 2).reshape(b, t, c)
        return self.o_proj(out)


class Qwen2MLP(nn.Module):
    def __init__(self, cfg: TransformerBlockConfig):
        super().__init__()
        c, i = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(c, i, bias=False)
        self.up_proj = nn.Linear(c, i, bias=False)
        self.down_proj = nn.Linear(i, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class TransformerBlock(nn.Module):
    """Qwen2 decoder layer: h = x + attn(norm1(x)); out = h + mlp(norm2(h)).

    forward(hidden_states [B,T,C], attention_mask [B,T] (1 keep, 0 pad) or None) -> [B,T,C]
    """

    def __init__(self, cfg: TransformerBlockConfig):
        super().__init__()
        self.cfg = cfg
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.eps)
        self.self_attn = Qwen2Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.eps)
        self.mlp = Qwen2MLP(cfg)

    def forward(self, hidden_states, attention_mask=None, use_rope: bool = True):
        h = hidden_states + self.self_attn(self.input_layernorm(hidden_states), attention_mask, use_rope=use_rope)
        return h + self.mlp(self.post_attention_layernorm(h))


# ----------------------------------------------------------------------------------------------
# ConvBlock
# ----------------------------------------------------------------------------------------------


@dataclass
class ConvBlockConfig:
    in_channels: int = 8
    mid_channels: int = 16
    groups: int = 4
    eps: float = 1e-6

    def to_json(self) -> dict:
        return asdict(self)


class ConvBlock(nn.Module):
    """x [B,Cin,H,W] (H, W even) -> [B, 4*Cin, H/2, W/2].

    a   = conv1(silu(norm1(x)))                      3x3, pad 1
    a   = conv2(silu(norm2(a)))                      3x3 depthwise (groups=Cm), pad 1
    a   = conv3(a)                                   1x1, groups=G
    h   = a + shortcut(x)                            1x1
    y   = down(h)                                    3x3, stride 2, pad 1 -> [B,Cin,H/2,W/2]
    u   = pixel_shuffle(expand(y), 2) + nearest_upsample(y, 2)   -> [B,Cin,H,W]
    out = pixel_unshuffle(u, 2)                                  -> [B,4Cin,H/2,W/2]
    """

    def __init__(self, cfg: ConvBlockConfig):
        super().__init__()
        self.cfg = cfg
        cin, cm, g = cfg.in_channels, cfg.mid_channels, cfg.groups
        assert cin % g == 0 and cm % g == 0
        self.norm1 = nn.GroupNorm(g, cin, eps=cfg.eps, affine=True)
        self.conv1 = nn.Conv2d(cin, cm, 3, stride=1, padding=1, bias=True)
        self.norm2 = nn.GroupNorm(g, cm, eps=cfg.eps, affine=True)
        self.conv2 = nn.Conv2d(cm, cm, 3, stride=1, padding=1, groups=cm, bias=True)
        self.conv3 = nn.Conv2d(cm, cm, 1, groups=g, bias=True)
        self.shortcut = nn.Conv2d(cin, cm, 1, bias=True)
        self.down = nn.Conv2d(cm, cin, 3, stride=2, padding=1, bias=True)
        self.expand = nn.Conv2d(cin, 4 * cin, 1, bias=True)

    def forward(self, hidden_states, break_=None):
        x = hidden_states
        a = self.conv1(F.silu(self.norm1(x)))
        a = self.conv2(F.silu(self.norm2(a)))
        a = self.conv3(a)
        h = a + self.shortcut(x)
        y = self.down(h)
        e = self.expand(y)
        if break_ == "shuffle_order":
            # wrong channel order for pixel_shuffle: (r*r, C) instead of (C, r*r)
            b, c4, hh, ww = e.shape
            e = e.view(b, 4, c4 // 4, hh, ww).transpose(1, 2).reshape(b, c4, hh, ww)
        u = F.pixel_shuffle(e, 2)
        if break_ == "bilinear":
            u = u + F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        else:
            u = u + F.interpolate(y, scale_factor=2, mode="nearest")
        return F.pixel_unshuffle(u, 2)


# ----------------------------------------------------------------------------------------------
# LinearAttentionBlock (SANA ReLU linear attention)
# ----------------------------------------------------------------------------------------------


@dataclass
class LinearAttentionConfig:
    hidden_size: int = 32
    num_heads: int = 4
    eps: float = 1e-15

    @property
    def head_dim(self) -> int:
        assert self.hidden_size % self.num_heads == 0
        return self.hidden_size // self.num_heads

    def to_json(self) -> dict:
        d = asdict(self)
        d["head_dim"] = self.head_dim
        return d


class LinearAttentionBlock(nn.Module):
    """hidden_states [B,N,C] -> [B,N,C]; numerics of diffusers SanaLinearAttnProcessor2_0:

        q = to_q(x); k = to_k(x); v = to_v(x)                       [B,N,C]
        q = q.transpose(1,2).unflatten(1,(H,-1))                     [B,H,D,N]
        k = k.transpose(1,2).unflatten(1,(H,-1)).transpose(2,3)      [B,H,N,D]
        v = v.transpose(1,2).unflatten(1,(H,-1))                     [B,H,D,N]
        q = relu(q); k = relu(k)
        q, k, v = q.float(), k.float(), v.float()
        v = pad(v, (0,0,0,1), value=1)                               [B,H,D+1,N]
        scores = v @ k                                               [B,H,D+1,D]
        hs = scores @ q                                              [B,H,D+1,N]
        hs = hs[:,:,:-1] / (hs[:,:,-1:] + eps)                       [B,H,D,N]
        hs = hs.flatten(1,2).transpose(1,2).to(x.dtype)             [B,N,C]
        out = to_out(hs)
    """

    def __init__(self, cfg: LinearAttentionConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.hidden_size
        self.to_q = nn.Linear(c, c, bias=False)
        self.to_k = nn.Linear(c, c, bias=False)
        self.to_v = nn.Linear(c, c, bias=False)
        self.to_out = nn.Linear(c, c, bias=True)

    def forward(self, hidden_states, break_=None):
        x = hidden_states
        in_dtype = x.dtype
        h = self.cfg.num_heads
        q = self.to_q(x)
        k = self.to_k(x)
        v = self.to_v(x)
        if break_ == "head_split":
            # wrong head split: channel c -> (d, h) instead of (h, d)
            def split(t):
                b, n, c = t.shape
                return t.view(b, n, c // h, h).permute(0, 3, 2, 1)  # [B,H,D,N]
            q, k, v = split(q), split(k).transpose(2, 3), split(v)
        else:
            q = q.transpose(1, 2).unflatten(1, (h, -1))  # [B,H,D,N]
            k = k.transpose(1, 2).unflatten(1, (h, -1)).transpose(2, 3)  # [B,H,N,D]
            v = v.transpose(1, 2).unflatten(1, (h, -1))  # [B,H,D,N]
        if break_ != "no_relu":
            q = F.relu(q)
            k = F.relu(k)
        cdt = _upcast_dtype(in_dtype)
        q, k, v = q.to(cdt), k.to(cdt), v.to(cdt)
        v = F.pad(v, (0, 0, 0, 1), mode="constant", value=1.0)  # [B,H,D+1,N]
        scores = torch.matmul(v, k)  # [B,H,D+1,D]
        hs = torch.matmul(scores, q)  # [B,H,D+1,N]
        hs = hs[:, :, :-1] / (hs[:, :, -1:] + self.cfg.eps)
        if break_ == "head_split":
            b, hh, d, n = hs.shape
            hs = hs.permute(0, 3, 2, 1).reshape(b, n, d * hh)
        else:
            hs = hs.flatten(1, 2).transpose(1, 2)  # [B,N,C]
        hs = hs.to(in_dtype)
        return self.to_out(hs)


# ----------------------------------------------------------------------------------------------
# Re-randomisation (docs/ARCHITECTURE.md "Make every part matter")
# ----------------------------------------------------------------------------------------------


def _fan_in(module: nn.Module) -> int:
    if isinstance(module, nn.Linear):
        return module.in_features
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return (module.in_channels // module.groups) * kh * kw
    raise TypeError(f"no fan_in rule for {type(module).__name__}")


@torch.no_grad()
def rerandomize_(model: nn.Module, seed: int) -> nn.Module:
    """Weights 1.5/sqrt(fan_in)*N(0,1); norm weights 1 + 0.1*N; biases 0.1*N. Deterministic in seed.

    Parameters are drawn in `named_parameters()` order from one CPU generator in float64 and then
    cast, so the values do not depend on the module's dtype.
    """
    gen = torch.Generator().manual_seed(seed)
    owners = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owners[f"{mname}.{pname}" if mname else pname] = mod
    for name, p in model.named_parameters():
        mod = owners[name]
        z = torch.randn(p.shape, generator=gen, dtype=torch.float64)
        if isinstance(mod, (RMSNorm, nn.GroupNorm, nn.LayerNorm)):
            val = (1.0 + 0.1 * z) if name.endswith("weight") else 0.1 * z
        elif name.endswith("bias"):
            val = 0.1 * z
        else:
            val = 1.5 / math.sqrt(_fan_in(mod)) * z
        p.copy_(val.to(p.dtype))
    return model
