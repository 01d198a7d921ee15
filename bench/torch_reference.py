"""PyTorch reference for `npm run bench`: the same MLP, data and loop shape as tune's trainer.

3 hidden ReLU layers, Adam, MAE loss, seeded shuffles, a validation pass each
epoch, one thread. Reads the CSVs tune's side wrote, prints one JSON object:
{"torch": version, "threads": 1, "results": [{"batch": B, "samples_per_s": X}, ...]}.

Run with Debian's interpreter (python3-torch): /usr/bin/python3 bench/torch_reference.py TRAIN VAL UNITS EPOCHS B1 [B2 ...]
"""
import csv
import json
import sys
import time

import torch


def load(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    data = torch.tensor([[float(v) for v in r] for r in rows[1:]], dtype=torch.float32)
    return data[:, :-1].contiguous(), data[:, -1:].contiguous()


def model(inputs, units):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, units), torch.nn.ReLU(),
        torch.nn.Linear(units, units), torch.nn.ReLU(),
        torch.nn.Linear(units, units), torch.nn.ReLU(),
        torch.nn.Linear(units, 1),
    )


def run(x, y, vx, vy, units, epochs, batch):
    net = model(x.shape[1], units)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.L1Loss()
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            float(loss_fn(net(vx), vy))
    elapsed = time.perf_counter() - start
    return x.shape[0] * epochs / elapsed


def main():
    train, val, units, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    batches = [int(b) for b in sys.argv[5:]]
    torch.set_num_threads(1)
    x, y = load(train)
    vx, vy = load(val)
    run(x, y, vx, vy, units, 1, batches[0])  # warm-up
    results = [{"batch": b, "samples_per_s": run(x, y, vx, vy, units, epochs, b)} for b in batches]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
