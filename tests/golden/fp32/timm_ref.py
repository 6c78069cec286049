# SPDX-License-Identifier: MIT
"""timm's VisionTransformer variants in plain PyTorch, for vitrt's FP32 references.

timm is not packaged in Debian; this follows timm.models.vision_transformer (and deit.py's
VisionTransformerDistilled) for what vitrt loads, with timm's state_dict names:

- class_token / no class token; DeiT distilled: cls_token, dist_token, head_dist; tokens
  [cls, dist, patches]; at inference the two heads' logits are averaged ((x + x_dist) / 2).
- no_embed_class (DeiT-III): pos_embed has no prefix rows; it is added to the patches, then
  the prefix tokens are concatenated in front.
- LayerScale (init_values): x + ls1.gamma * attn(...), x + ls2.gamma * mlp(...).
- qkv_bias False: attn.qkv has no bias.
  (The block, with these two options, is models/vit.py's Block.)
- global_pool 'token' (x[:, 0]) or 'avg' (mean of x[:, num_prefix_tokens:]); fc_norm
  defaults to global_pool == 'avg': then norm is Identity and fc_norm follows the pooling.
No dropout, exact GELU, LayerNorm eps 1e-6, attention (q * D^-0.5) @ k^T.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "models"))
from vit import Block  # noqa: E402


class VisionTransformer(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, num_classes, embed_dim, depth,
                 num_heads, mlp_ratio=4.0, qkv_bias=True, class_token=True, distilled=False,
                 global_pool="token", fc_norm=None, no_embed_class=False, init_values=None,
                 eps=1e-6):
        super().__init__()
        assert class_token or global_pool != "token"
        assert not distilled or (class_token and global_pool == "token")
        use_fc_norm = global_pool == "avg" if fc_norm is None else fc_norm
        self.global_pool, self.no_embed_class = global_pool, no_embed_class
        self.num_prefix_tokens = int(class_token) + int(distilled)
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_size)
        patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if class_token else None
        self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if distilled else None
        rows = patches if no_embed_class else patches + self.num_prefix_tokens
        self.pos_embed = nn.Parameter(torch.zeros(1, rows, embed_dim))
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, mlp_ratio, eps, qkv_bias, init_values)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=eps) if not use_fc_norm else nn.Identity()
        self.fc_norm = nn.LayerNorm(embed_dim, eps=eps) if use_fc_norm else nn.Identity()
        self.head = nn.Linear(embed_dim, num_classes)
        self.head_dist = nn.Linear(embed_dim, num_classes) if distilled else None

    def _pos_embed(self, x):
        prefix = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.dist_token)
                  if t is not None]
        if self.no_embed_class:
            return torch.cat(prefix + [x + self.pos_embed], dim=1)
        return torch.cat(prefix + [x], dim=1) + self.pos_embed

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = self.norm(self.blocks(self._pos_embed(x)))
        if self.head_dist is not None:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        if self.global_pool == "avg":
            x = x[:, self.num_prefix_tokens:].mean(dim=1)
        else:
            x = x[:, 0]
        return self.head(self.fc_norm(x))
