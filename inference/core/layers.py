"""Torch layers shared by both model families (framework-free): the linear-chain CRF and its BIO
constraints, the hybrid BiLSTM / dilated CNN / self-attention stack, and the mean-pooling classifier that
note classification (extraction) and phrase-state classification (risk) both put on the encoder."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class CRF(nn.Module):
    """Linear-chain CRF with optional forbidden transitions (log space, batch first)."""

    def __init__(self, n_tags: int, allowed: torch.Tensor | None = None):
        super().__init__()
        self.n_tags = n_tags
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))
        if allowed is None:
            allowed = torch.ones(n_tags, n_tags, dtype=torch.bool)
        self.register_buffer("allowed", allowed.bool(), persistent=False)
        start_allowed = torch.ones(n_tags, dtype=torch.bool)
        self.register_buffer("start_allowed", start_allowed, persistent=False)

    def set_start_allowed(self, allowed: torch.Tensor) -> None:
        self.start_allowed = allowed.bool()

    def _trans(self) -> torch.Tensor:
        return self.transitions.masked_fill(~self.allowed, -1e4)

    def _start(self) -> torch.Tensor:
        return self.start.masked_fill(~self.start_allowed, -1e4)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        trans = self._trans()
        alpha = self._start() + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        trans = self._trans()
        b = torch.arange(emissions.size(0), device=emissions.device)
        s = self._start()[tags[:, 0]] + emissions[b, 0, tags[:, 0]]
        for t in range(1, emissions.size(1)):
            step = trans[tags[:, t - 1], tags[:, t]] + emissions[b, t, tags[:, t]]
            s = s + step * mask[:, t]
        last = mask.long().sum(1) - 1
        return s + self.end[tags[b, last]]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood over the sequences (every sequence has length >= 1)."""
        return (self.log_partition(emissions, mask) - self.score(emissions, tags, mask)).mean()

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        trans = self._trans()
        score = self._start() + emissions[:, 0]
        history = []
        for t in range(1, emissions.size(1)):
            best, idx = (score.unsqueeze(2) + trans.unsqueeze(0)).max(dim=1)
            nxt = best + emissions[:, t]
            score = torch.where(mask[:, t].unsqueeze(1), nxt, score)
            history.append(idx)
        score = score + self.end
        lengths = mask.long().sum(1).tolist()
        # One device-to-host copy: backtracking element by element would synchronise a GPU B x T times.
        last = score.argmax(dim=1).tolist()
        back = torch.stack(history).cpu().tolist() if history else []
        paths = []
        for i, n in enumerate(lengths):
            tag = last[i]
            path = [tag]
            for t in range(n - 1, 0, -1):
                tag = back[t - 1][i][tag]
                path.append(tag)
            paths.append(path[::-1])
        return paths

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(tag at position t) by forward-backward, [B, T, K]."""
        trans = self._trans()
        B, T, K = emissions.shape
        alphas = [self._start() + emissions[:, 0]]
        for t in range(1, T):
            nxt = torch.logsumexp(alphas[-1].unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            alphas.append(torch.where(mask[:, t].unsqueeze(1), nxt, alphas[-1]))
        lengths = mask.long().sum(1)
        betas = [None] * T
        beta = self.end.expand(B, K).clone()
        for t in range(T - 1, -1, -1):
            is_last = (lengths - 1 == t).unsqueeze(1)
            if t == T - 1:
                cur = beta
            else:
                step = torch.logsumexp(
                    trans.unsqueeze(0) + (emissions[:, t + 1] + betas[t + 1]).unsqueeze(1), dim=2
                )
                cur = torch.where(is_last, self.end.expand(B, K), step)
            betas[t] = cur
        alpha = torch.stack(alphas, 1)
        beta = torch.stack(betas, 1)
        logz = torch.logsumexp(alpha + beta, dim=2, keepdim=True)
        return torch.exp(alpha + beta - logz)


class HybridStack(nn.Module):
    """BiLSTM -> dilated gated CNN -> multi-head self-attention, each with a residual and layer norm."""

    def __init__(
        self, hidden: int, heads: int = 4, dilations: Sequence[int] = (1, 2, 4), dropout: float = 0.1
    ):
        super().__init__()
        heads = math.gcd(hidden, heads) or 1
        self.lstm = nn.LSTM(hidden, hidden // 2, batch_first=True, bidirectional=True)
        self.lstm_proj = nn.Linear(2 * (hidden // 2), hidden)
        self.norm1 = nn.LayerNorm(hidden)
        self.convs = nn.ModuleList(
            nn.Conv1d(hidden, 2 * hidden, kernel_size=3, dilation=d, padding=d) for d in dilations
        )
        self.norm2 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.long().sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=h.size(1))
        x = self.norm1(h + self.drop(self.lstm_proj(out)))
        m = mask.unsqueeze(2).to(x.dtype)
        for conv in self.convs:
            y = conv((x * m).transpose(1, 2))
            a, g = y.chunk(2, dim=1)
            x = x + self.drop((a * torch.sigmoid(g)).transpose(1, 2))
        x = self.norm2(x) * m
        att, _ = self.attn(x, x, x, key_padding_mask=~mask, need_weights=False)
        return self.norm3(x + self.drop(att)) * m


def bio_constraints(n_types: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed transitions for tags [O, B-1, I-1, B-2, I-2, ...]: I-x only after B-x or I-x."""
    K = 1 + 2 * n_types
    allowed = torch.ones(K, K, dtype=torch.bool)
    start = torch.ones(K, dtype=torch.bool)
    for t in range(n_types):
        i_tag = 2 + 2 * t
        allowed[:, i_tag] = False
        allowed[1 + 2 * t, i_tag] = True
        allowed[i_tag, i_tag] = True
        start[i_tag] = False
    return allowed, start


class MeanPoolClassifier(nn.Module):
    """Encoder, mean pooling over the attention mask, dropout, linear: the note classifier's and the phrase
    classifier's module."""

    def __init__(self, encoder: nn.Module, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(encoder.config.hidden_size, n_labels)

    def forward(self, input_ids, attention_mask) -> torch.Tensor:
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        m = attention_mask.unsqueeze(2).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.out(self.drop(pooled))
