/**
 * Built-in layer tables: MAC totals against the published figures, shape consistency,
 * and the loader's rejection of malformed CSV/JSON with file, line and column.
 *
 * Published figures (multiply-accumulates, batch 1):
 *  - VGG-16: 15.3 G conv + 124 M FC = 15.5 G; AlexNet: 666 M conv + 58.6 M FC = 724 M;
 *    ResNet-50 (original, stride on the first 1x1): 3.86 G conv + 2.0 M FC.
 *    Sze, Chen, Yang, Emer, "Efficient Processing of Deep Neural Networks: A Tutorial and
 *    Survey", Proc. IEEE 105(12), 2017, table "Summary of popular DNNs".
 *  - VGG-16: 15,300 M mult-adds; MobileNet 1.0-224: 569 M mult-adds.
 *    Howard et al., "MobileNets", arXiv:1704.04861, Table 8 (and Tables 4, 6).
 *  - ResNet-18: 1.8e9, ResNet-50: 3.8e9 multiply-adds ("FLOPs").
 *    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1.
 *  - ResNet-18: 1.81, ResNet-50 (v1.5): 4.09 "GFLOPS" (multiply-adds).
 *    torchvision.models documentation, ResNet18_Weights / ResNet50_Weights.IMAGENET1K_V1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outputSize } from '../harness/conv/layer.ts';
import {
  BUILTIN_NETWORKS,
  checkShapes,
  layerMacs,
  loadNetwork,
  networkMacs,
  parseNetworkCsv,
  parseNetworkJson,
  toCsv,
  type Network,
} from '../harness/networks/index.ts';
import { InputError } from '../harness/util/errors.ts';

function near(actual: number, published: number, rel: number, what: string): void {
  const err = Math.abs(actual - published) / published;
  assert.ok(err <= rel, `${what}: ${actual} vs published ${published} (off by ${(err * 100).toFixed(2)} %, allowed ${rel * 100} %)`);
}

const names = Object.keys(BUILTIN_NETWORKS);

test('every built-in network loads, with a source citation and unique layer names', () => {
  assert.equal(names.sort(), ['alexnet', 'mobilenet-v1', 'resnet18', 'resnet50', 'vgg16']);
  for (const n of names) {
    const net = loadNetwork(n);
    assert.ok(net.source.length > 40, `${n}: source citation missing`);
    assert.ok(net.layers.length > 0, n);
    assert.is(new Set(net.layers.map((l) => l.name)).size, net.layers.length, `${n}: duplicate layer names`);
    for (const l of net.layers) {
      assert.is(l.wBits, 8, `${n}/${l.name} w_bits`);
      assert.is(l.aBits, 8, `${n}/${l.name} a_bits`);
    }
  }
});

test('built-in names are matched loosely (case, - and _)', () => {
  assert.is(loadNetwork('MobileNet_V1').name, 'mobilenet-v1');
  assert.is(loadNetwork('ResNet-18').name, 'resnet18');
});

test('VGG-16 MACs: 15.3 G conv, 124 M FC, 15.5 G total', () => {
  const m = networkMacs(loadNetwork('vgg16'));
  near(m.conv, 15.3e9, 0.01, 'VGG-16 conv (Sze et al.; Howard et al. Table 8)');
  near(m.fc, 124e6, 0.01, 'VGG-16 FC (Sze et al.)');
  near(m.total, 15.5e9, 0.01, 'VGG-16 total (Sze et al.)');
  assert.is(m.conv, 15_346_630_656);
  assert.is(m.fc, 123_633_664);
});

test('AlexNet (two-tower) MACs: 666 M conv, 58.6 M FC, 724 M total', () => {
  const net = loadNetwork('alexnet');
  const m = networkMacs(net);
  near(m.conv, 666e6, 0.002, 'AlexNet conv (Sze et al.)');
  near(m.fc, 58.6e6, 0.002, 'AlexNet FC (Sze et al.)');
  near(m.total, 724e6, 0.002, 'AlexNet total (Sze et al.)');
  assert.equal(net.layers.filter((l) => l.groups === 2).map((l) => l.name), ['conv2', 'conv4', 'conv5']);
  assert.is(m.conv, 665_784_864);
});

test('ResNet-18 MACs: 1.8 G (He et al. Table 1), 1.81 G (torchvision)', () => {
  const m = networkMacs(loadNetwork('resnet18'));
  near(m.total, 1.8e9, 0.01, 'ResNet-18 (He et al.)');
  near(m.total, 1.81e9, 0.005, 'ResNet-18 (torchvision)');
  assert.is(m.total, 1_814_073_344);
});

test('ResNet-50 v1.5 MACs: 4.09 G (torchvision); moved back to v1: 3.86 G conv (Sze), 3.8 G (He)', () => {
  const net = loadNetwork('resnet50');
  const m = networkMacs(net);
  near(m.total, 4.09e9, 0.005, 'ResNet-50 v1.5 (torchvision)');
  assert.is(m.total, 4_089_184_256);
  assert.is(m.fc, 2_048_000);
  // The original network puts the stride 2 on the first 1x1 of conv3_1, conv4_1, conv5_1.
  const v1 = net.layers.map((l) => {
    if (/^layer[234]\.0\.conv1$/.test(l.name)) return { ...l, strideH: 2, strideW: 2 };
    if (/^layer[234]\.0\.conv2$/.test(l.name)) return { ...l, inH: l.inH / 2, inW: l.inW / 2, strideH: 1, strideW: 1 };
    return l;
  });
  const m1 = networkMacs({ layers: v1 });
  near(m1.conv, 3.86e9, 0.005, 'ResNet-50 v1 conv (Sze et al.)');
  near(m1.total, 3.8e9, 0.02, 'ResNet-50 v1 (He et al. Table 1)');
});

test('MobileNet-v1 1.0-224 MACs: 569 M; depthwise layers have groups = channels', () => {
  const net = loadNetwork('mobilenet-v1');
  const m = networkMacs(net);
  near(m.total, 569e6, 0.002, 'MobileNet-v1 (Howard et al. Tables 4, 6, 8)');
  assert.is(m.total, 568_740_352);
  const dw = net.layers.filter((l) => l.name.endsWith('_dw'));
  assert.is(dw.length, 13);
  for (const l of dw) {
    assert.ok(l.groups === l.inC && l.groups === l.outC, `${l.name}: groups=${l.groups} inC=${l.inC} outC=${l.outC}`);
    assert.is(layerMacs(l), outputSize(l).outH * outputSize(l).outW * l.outC * 9);
  }
});

test('shapes chain: every layer reads its producer output (after pooling / flattening)', () => {
  for (const n of names) {
    const net = loadNetwork(n);
    assert.ok(net.input, `${n}: input shape missing`);
    const bad = checkShapes(net);
    assert.equal(bad, [], `${n}: ${JSON.stringify(bad)}`);
  }
});

test('shape checker catches a broken chain', () => {
  const net = loadNetwork('vgg16');
  const broken: Network = { ...net, layers: net.layers.map((l) => (l.name === 'conv3_2' ? { ...l, inC: 128 } : l)) };
  const bad = checkShapes(broken);
  assert.is(bad.length, 1);
  assert.is(bad[0]!.layer, 'conv3_2');
  assert.is(bad[0]!.expected, '56x56x256');
});

test('CSV round trip keeps every layer', () => {
  for (const n of names) {
    const net = loadNetwork(n);
    const back = parseNetworkCsv(toCsv(net.layers), `${n}.csv`);
    assert.is(back.layers.length, net.layers.length);
    back.layers.forEach((l, i) => {
      const { fc: _fc, from: _from, pool: _pool, ...a } = net.layers[i]!;
      const { fc: _fc2, ...b } = l;
      assert.equal(b, a, `${n} row ${i + 1}`);
    });
  }
});

test('loadNetwork reads .csv and .json files from disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-net-'));
  const csv = join(dir, 'two.csv');
  writeFileSync(csv, `# a comment\n${HEADER},groups\nc1,8,8,3,16,3,3,1,1,1,1,1,1,8,8,1\n\nc2,8,8,16,16,3,3,2,2,0,1,0,1,4,4,4\n`);
  const a = loadNetwork(csv);
  assert.is(a.name, 'two');
  assert.is(a.layers.length, 2);
  assert.is(a.layers[1]!.groups, 4);
  assert.is(a.layers[1]!.wBits, 4);
  const json = join(dir, 'one.json');
  writeFileSync(json, JSON.stringify({ name: 'one', layers: [{ name: 'x', in_h: 4, in_w: 4, in_c: 2, out_c: 2, k_h: 1, k_w: 1, stride_h: 1, stride_w: 1, pad_top: 0, pad_bottom: 0, pad_left: 0, pad_right: 0, w_bits: 8, a_bits: 8 }] }));
  assert.is(loadNetwork(json).layers[0]!.groups, 1);
});

// --- malformed input -------------------------------------------------------------------

const HEADER = 'name,in_h,in_w,in_c,out_c,k_h,k_w,stride_h,stride_w,pad_top,pad_bottom,pad_left,pad_right,w_bits,a_bits';
const GOOD_ROW = 'conv,8,8,3,16,3,3,1,1,1,1,1,1,8,8';

function rejects(fn: () => unknown, prefix: string, detail: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError, `expected InputError, got ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(msg.startsWith(prefix), `message should start with '${prefix}': ${msg}`);
    assert.match(msg, detail);
    return;
  }
  assert.unreachable(`accepted malformed input (expected '${prefix}')`);
}

const csv = (text: string) => () => parseNetworkCsv(text, 'bad.csv');

test('CSV: non-integer field names line, column and field', () => {
  // line 3, the 2nd field (in_h) starts at character 6
  rejects(csv(`${HEADER}\n${GOOD_ROW}\nconv2,abc,8,3,16,3,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:3:7: in_h:', /integer/);
  rejects(csv(`${HEADER}\nconv,8,8,3,16,3,3,1,1,1,1,1,1,8,2.5\n`), 'bad.csv:2:', /a_bits: must be an integer in \[1, 32\], got 2\.5/);
});

test('CSV: out-of-range values (zero stride, negative pad, zero channels, huge bits)', () => {
  rejects(csv(`${HEADER}\nconv,8,8,3,16,3,3,0,1,1,1,1,1,8,8\n`), 'bad.csv:2:19: stride_h:', /\[1, 65536\], got 0/);
  rejects(csv(`${HEADER}\nconv,8,8,3,16,3,3,1,1,-1,1,1,1,8,8\n`), 'bad.csv:2:23: pad_top:', /\[0, 65536\], got -1/);
  rejects(csv(`${HEADER}\nconv,8,8,0,16,3,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:2:10: in_c:', /got 0/);
  rejects(csv(`${HEADER}\nconv,8,8,3,16,3,3,1,1,1,1,1,1,64,8\n`), 'bad.csv:2:', /w_bits: must be an integer in \[1, 32\]/);
});

test('CSV: header problems (missing, unknown, repeated column; empty file)', () => {
  rejects(csv(`${HEADER.replace(',a_bits', '')}\n`), 'bad.csv:1:1: a_bits:', /missing column/);
  rejects(csv(`${HEADER},bias\n${GOOD_ROW},0\n`), 'bad.csv:1:', /bias: unknown column/);
  rejects(csv(`${HEADER},in_h\n`), 'bad.csv:1:', /in_h: column appears twice/);
  rejects(csv('\n# nothing\n'), 'bad.csv: empty layer table', /header/);
  rejects(csv(`${HEADER}\n`), 'bad.csv: the layer table has a header but no layers', /no layers/);
});

test('CSV: wrong field count, bad quoting, duplicate names', () => {
  rejects(csv(`${HEADER}\n${GOOD_ROW},7\n`), 'bad.csv:2:', /csv: row has 16 fields, the header on line 1 has 15/);
  rejects(csv(`${HEADER}\nconv,8,8\n`), 'bad.csv:2:9: csv:', /row has 3 fields/);
  rejects(csv(`${HEADER}\n"conv,8,8,3,16,3,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:2:1: csv:', /unterminated quoted field/);
  rejects(csv(`${HEADER}\n${GOOD_ROW}\n${GOOD_ROW}\n`), 'bad.csv:3:1: name:', /duplicate layer name 'conv'/);
  rejects(csv(`${HEADER}\n,8,8,3,16,3,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:2:1: name:', /non-empty/);
});

test('CSV: inconsistent layers (groups, kernel larger than padded input, accumulator overflow)', () => {
  rejects(csv(`${HEADER},groups\n${GOOD_ROW},2\n`), 'bad.csv:2:', /groups: groups=2 must divide in_c=3 and out_c=16/);
  rejects(csv(`${HEADER}\nconv,2,8,3,16,5,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:2:', /k_h: k_h=5 exceeds the padded input height 4/);
  rejects(csv(`${HEADER}\nconv,8,8,4000,16,3,3,1,1,1,1,1,1,8,8\n`), 'bad.csv:2:', /in_c: .*36000 exceeds/);
});

test('CSV: quoted names with commas are accepted', () => {
  const net = parseNetworkCsv(`${HEADER}\n"a,""b""",8,8,3,16,3,3,1,1,1,1,1,1,8,8\n`, 'q.csv');
  assert.is(net.layers[0]!.name, 'a,"b"');
});

const json = (text: string) => () => parseNetworkJson(text, 'bad.json');
const LAYER = '{"name": "c", "in_h": 8, "in_w": 8, "in_c": 3, "out_c": 16, "k_h": 3, "k_w": 3, "stride_h": 1, "stride_w": 1, "pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1, "w_bits": 8, "a_bits": 8';

test('JSON: syntax errors name line and column', () => {
  rejects(json(`{\n  "layers": [\n    ${LAYER},}\n  ]\n}`), 'bad.json:3:', /json: expected a string key/);
  rejects(json('{"layers": [}'), 'bad.json:1:13: json:', /unexpected character/);
  rejects(json('[1, 2]'), 'bad.json:1:1: json:', /top level must be an object/);
});

test('JSON: semantic errors point at the offending value', () => {
  const text = `{\n  "layers": [\n    ${LAYER}},\n    ${LAYER.replace('"c"', '"d"').replace('"in_w": 8', '"in_w": -8')}}\n  ]\n}`;
  const col = `    ${LAYER}`.indexOf('"in_w": 8') + '"in_w": '.length + 1;
  rejects(json(text), `bad.json:4:${col}: in_w:`, /got -8/);
  rejects(json(`{"layers": [${LAYER}, "w_bit": 8}]}`), 'bad.json:1:', /w_bit: unknown layer field/);
  rejects(json(`{"layers": [${LAYER.replace('"in_h": 8', '"in_h": "8"')}}]}`), 'bad.json:1:', /in_h: must be an integer/);
  rejects(json(`{"layers": [${LAYER}, "from": "nowhere"}]}`), 'bad.json:1:', /from: must be 'input' or the name of an earlier layer/);
  rejects(json(`{"layers": [${LAYER}, "pool": {"type": "median", "k": 2, "stride": 2, "pad": 0}}]}`), 'bad.json:1:', /pool\.type/);
  rejects(json('{"layers": []}'), 'bad.json:1:', /layers: must be a non-empty array/);
});

test('loadNetwork: unknown names and unreadable files are InputErrors', () => {
  rejects(() => loadNetwork('lenet'), "'lenet' is neither a built-in network", /vgg16/);
  rejects(() => loadNetwork('/nonexistent/x.csv'), "cannot read layer table '/nonexistent/x.csv'", /ENOENT/);
});

test.run();
