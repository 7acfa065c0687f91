"""PyTorch twin of Frugal's model zoo, for PyTorchParityTest.

Usage: pytorch_parity.py STEPS LR DIR MODEL OPTIONS [DIR MODEL OPTIONS ...]
(one Python start for every model: importing torch is the slow part). Each DIR holds, written by the Java test, one raw little-endian float32 file per variable
(<full name>.bin, listed with shapes in manifest.txt), x.bin (the batch) and y.txt (labels).
The script builds the same architecture with the same module names, loads the weights, runs
STEPS plain-SGD steps in training mode and prints "model DIR", then one per line:
  losses <l1> ... <lSTEPS>
  eval <logits of the batch in evaluation mode after the steps, row-major>
  flops <forward FLOPs of one sample, torch.utils.flop_counter convention>
  buffers <every buffer after the steps, manifest order, concatenated>
"""
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


class Mlp(nn.Module):
    def __init__(self, hidden1, hidden2):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, hidden1)
        self.fc2 = nn.Linear(hidden1, hidden2)
        self.fc3 = nn.Linear(hidden2, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(self.flatten(x)))
        return self.fc3(torch.relu(self.fc2(x)))


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))


class CnnSmall(nn.Module):
    def __init__(self, channels1, channels2, hidden):
        super().__init__()
        self.block1 = conv_block(1, channels1)
        self.block2 = conv_block(channels1, channels2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(channels2 * 49, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = self.flatten(self.block2(self.block1(x)))
        return self.fc2(torch.relu(self.fc1(x)))


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = torch.relu(self.bn1(self.depthwise(x)))
        return torch.relu(self.bn2(self.pointwise(x)))


class MobileNetTiny(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        blocks, cin = [], width
        for mult, stride in zip([2, 2, 4, 4, 8, 8], [2, 1, 2, 1, 2, 1]):
            blocks.append(DepthwiseSeparable(cin, width * mult, stride))
            cin = width * mult
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(cin, 10)

    def forward(self, x):
        x = self.blocks(torch.relu(self.stem_bn(self.stem(x))))
        return self.classifier(x.mean(dim=(2, 3)))


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class DeepMlp(nn.Module):
    def __init__(self, depth, width):
        super().__init__()
        self.flatten = nn.Flatten()
        self.input = nn.Linear(784, width)
        self.blocks = nn.Sequential(*[Residual(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.ReLU(),
                                                             nn.Linear(width, width))) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        x = self.blocks(torch.relu(self.input(self.flatten(x))))
        return self.head(self.norm(x))


def build(name, opts):
    if name == "mlp":
        return Mlp(opts["hidden1"], opts["hidden2"])
    if name == "cnn-small":
        return CnnSmall(opts["channels1"], opts["channels2"], opts["hidden"])
    if name == "mobilenet-tiny":
        return MobileNetTiny(opts["width"])
    if name == "deep-mlp":
        return DeepMlp(opts["depth"], opts["width"])
    raise SystemExit("unknown model " + name)


def run(directory, name, options, steps, lr):
    opts = {k: int(v) for k, v in (kv.split("=") for kv in options.split(",") if kv)}
    torch.manual_seed(0)
    model = build(name, opts)
    manifest = [line.split() for line in open(directory + "/manifest.txt").read().splitlines()]
    state = {}
    for full_name, *dims in manifest:
        data = np.fromfile(directory + "/" + full_name + ".bin", dtype="<f4").reshape([int(d) for d in dims])
        state[full_name] = torch.from_numpy(data.copy())
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") for k in missing), missing
    x = torch.from_numpy(np.fromfile(directory + "/x.bin", dtype="<f4").reshape(-1, 1, 28, 28).copy())
    y = torch.tensor([int(v) for v in open(directory + "/y.txt").read().split()])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
        with FlopCounterMode(display=False) as counter:
            model(x[:1])
    buffers = [model.state_dict()[n].flatten() for n, *_ in manifest if "running_" in n]
    print("model", directory)
    print("losses", *("%.9g" % v for v in losses))
    print("eval", *("%.9g" % v for v in logits.flatten().tolist()))
    print("flops", counter.get_total_flops())
    print("buffers", *("%.9g" % v for v in (torch.cat(buffers).tolist() if buffers else [])))


def main():
    steps, lr, rest = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    assert len(rest) % 3 == 0, "expected DIR MODEL OPTIONS triples"
    for i in range(0, len(rest), 3):
        run(rest[i], rest[i + 1], rest[i + 2], steps, lr)


if __name__ == "__main__":
    main()
