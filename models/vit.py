# SPDX-License-Identifier: MIT
"""A plain-PyTorch Vision Transformer with timm's state_dict names and semantics.

The parameter names, shapes and the forward pass are those of
timm.models.vision_transformer.VisionTransformer with class-token pooling,
pre-norm blocks, no dropout, no layer scale, no qk-norm:

    x = patch_embed.proj(img)                  Conv2d, kernel = stride = patch
    x = flatten(2).transpose(1, 2)             patches in row-major order
    x = cat(cls_token, x) + pos_embed          T = 1 + (img / patch)^2 tokens
    for each block:
        x = x + attn.proj(attn(norm1(x)))
        x = x + mlp.fc2(gelu(mlp.fc1(norm2(x))))
    logits = head(norm(x)[:, 0])

Attention: qkv = attn.qkv(x); rows [0:C] of the weight make q, [C:2C] k,
[2C:3C] v; head h owns rows h*D .. (h+1)*D - 1 within each (D = C / heads);
out = softmax((q * D^-0.5) @ k^T) @ v, heads concatenated in order.
LayerNorm eps defaults to 1e-6; GELU is the exact (erf) form.

Block also takes two of timm's options that these models leave off: qkv_bias
False (attn.qkv without bias) and init_values (LayerScale: ls1.gamma and
ls2.gamma scale the attention and MLP outputs before each residual add).
tests/golden/fp32/timm_ref.py builds its variants from this Block.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        if img_size % patch_size:
            raise ValueError("image size %d is not a multiple of patch %d"
                             % (img_size, patch_size))
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
                              stride=patch_size)

    def forward(self, x):
        x = self.proj(x)                         # B, C, H/p, W/p
        return x.flatten(2).transpose(1, 2)      # B, N, C


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        if dim % num_heads:
            raise ValueError("dim %d is not a multiple of heads %d"
                             % (dim, num_heads))
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)   # each B, H, N, D
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))     # exact erf GELU


class LayerScale(nn.Module):
    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    # Modules in timm's order (parameters are listed, and randomized, in this order).
    def __init__(self, dim, num_heads, mlp_ratio, eps, qkv_bias=True, init_values=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        x = x + self.ls2(self.mlp(self.norm2(x)))
        return x


class VisionTransformer(nn.Module):
    def __init__(self, img_size=28, patch_size=4, in_chans=1, num_classes=10,
                 embed_dim=96, depth=6, num_heads=4, mlp_ratio=4.0, eps=1e-6):
        super().__init__()
        self.config = dict(img_size=img_size, patch_size=patch_size,
                           in_chans=in_chans, num_classes=num_classes,
                           embed_dim=embed_dim, depth=depth,
                           num_heads=num_heads, mlp_ratio=mlp_ratio, eps=eps)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        tokens = self.patch_embed.num_patches + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, eps)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=eps)
        self.head = nn.Linear(embed_dim, num_classes)
        self.init_weights()

    def init_weights(self):
        # timm's default ("jax"-less) init: trunc_normal(.02) for Linear and
        # pos_embed, normal(1e-6) for cls_token, zero biases, LN 1/0.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                nn.init.trunc_normal_(m.weight, std=math.sqrt(1.0 / fan_in))
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_pos_sincos(self):
        """Start pos_embed from a 2-D sine-cosine table (MAE style; class token row zero).

        Still a learned parameter; a structured start makes the small ViT converge faster.
        """
        C = self.pos_embed.shape[-1]
        grid = int(round(math.sqrt(self.patch_embed.num_patches)))
        if C % 4 or grid * grid != self.patch_embed.num_patches:
            raise ValueError("sin-cos init needs a square grid and dim % 4 == 0")
        d = C // 4
        omega = 1.0 / 10000.0 ** (torch.arange(d, dtype=torch.float64) / d)
        ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64),
                                torch.arange(grid, dtype=torch.float64), indexing="ij")
        parts = []
        for pos in (ys.flatten(), xs.flatten()):
            a = pos[:, None] * omega[None, :]
            parts += [a.sin(), a.cos()]
        table = torch.cat([torch.zeros(1, C, dtype=torch.float64), torch.cat(parts, 1)], 0)
        with torch.no_grad():
            self.pos_embed.copy_(table[None].float())

    def forward_features(self, x):
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        x = self.blocks(x)
        return self.norm(x)

    def forward(self, x):
        return self.head(self.forward_features(x)[:, 0])
