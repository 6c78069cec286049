// SPDX-License-Identifier: MIT
// ONNX Runtime FP32 timing for `make bench`:
//   node ort.mjs ORT_DIR MODEL.onnx THREADS,... BATCH,...
// ORT_DIR holds node_modules/onnxruntime-node.  For each thread count and batch size: one
// warm-up run, then timed runs (at least 3, about 4 s in all, at most 30), and one JSON line
// with the median: {"path", "threads", "batch", "runs", "ms_per_image", "images_per_s"}.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const [ortDir, model, threadList, batchList] = process.argv.slice(2);
if (!batchList) {
	console.error('usage: node ort.mjs ORT_DIR MODEL.onnx THREADS,... BATCH,...');
	process.exit(2);
}
const ort = createRequire(ortDir + '/')('onnxruntime-node');

function pixels(batch) {
	const data = new Float32Array(batch * 3 * 224 * 224);
	let s = 12345;
	for (let i = 0; i < data.length; i++) {
		s = (s * 1103515245 + 12345) >>> 0;
		data[i] = (s >>> 8) / (1 << 24) * 4 - 2;	// about the range of normalized pixels
	}
	return new ort.Tensor('float32', data, [batch, 3, 224, 224]);
}

async function seconds(session, feeds) {
	const t0 = performance.now();
	await session.run(feeds);
	return (performance.now() - t0) / 1e3;
}

for (const threads of threadList.split(',').map(Number)) {
	const session = await ort.InferenceSession.create(model, {
		intraOpNumThreads: threads, interOpNumThreads: 1,
		executionMode: 'sequential', graphOptimizationLevel: 'all',
	});
	for (const batch of batchList.split(',').map(Number)) {
		const feeds = { [session.inputNames[0]]: pixels(batch) };
		const first = await seconds(session, feeds);
		const runs = Math.min(30, Math.max(3, Math.ceil(4 / first)));
		const times = [];
		for (let i = 0; i < runs; i++)
			times.push(await seconds(session, feeds));
		times.sort((a, b) => a - b);
		const t = times[runs >> 1] / batch;
		console.log(JSON.stringify({ path: 'ort-fp32', threads, batch, runs,
			ms_per_image: t * 1e3, images_per_s: 1 / t }));
	}
	await session.release();
}
