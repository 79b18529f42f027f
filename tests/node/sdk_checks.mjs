// Drives a running gateway with the official openai Node SDK and prints what a user of the
// SDK observes, as one JSON object, for tests/test_node_sdk.py to assert on.
// Usage: GATEWAY_URL=http://.../api/openai/v1 GATEWAY_KEY=wm_v2... node sdk_checks.mjs <scenario>
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";

const client = new OpenAI({
  baseURL: process.env.GATEWAY_URL,
  apiKey: process.env.GATEWAY_KEY,
  maxRetries: 0,
});
const ECHO = "writingmate/echo";
const ECHO_IMAGE = "writingmate/echo-image";
const ECHO_TRANSCRIBE = "writingmate/echo-transcribe";
const ECHO_VIDEO = "writingmate/echo-video";
const HELLO = [{ role: "user", content: "Hello from Node!" }];
const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

async function caught(call) {
  try {
    await call();
    return { raised: null };
  } catch (error) {
    return {
      raised: error.constructor.name,
      status: error.status ?? null,
      code: error.code ?? null,
      param: error.param ?? null,
      type: error.type ?? null,
    };
  }
}


// A mono 16-bit PCM WAV sine tone, made here so no binary fixture is needed.
function wavTone(seconds, rate = 16000, hz = 440) {
  const samples = Math.floor(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // bytes per frame
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) {
    wav.writeInt16LE(Math.trunc(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  return wav;
}

// Width and height of a PNG, or null when the bytes are not a PNG.
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((byte, i) => bytes[i] === byte)) return null;
  if (bytes.toString("latin1", 12, 16) !== "IHDR") return null;
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

const WEATHER_TOOL = { ...WEATHER.function, type: "function" }; // the Responses API's flat shape

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const scenarios = {
  async models() {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return { ids };
  },

  async model() {
    const { data, response } = await client.models.retrieve(ECHO).withResponse();
    return { id: data.id, object: data.object, owned_by: data.owned_by, url: response.url };
  },

  async completion() {
    const { data, response } = await client.chat.completions
      .create({ model: ECHO, messages: HELLO })
      .withResponse();
    return {
      object: data.object,
      model: data.model,
      content: data.choices[0].message.content,
      finish_reason: data.choices[0].finish_reason,
      usage: data.usage,
      counted: response.headers.get("x-writingmate-messages-counted"),
      request_id: response.headers.get("x-request-id"),
    };
  },

  async stream() {
    const stream = await client.chat.completions.create({
      model: ECHO,
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces = [];
    let usage = null;
    let chunks = 0;
    let finish_reason = null;
    for await (const chunk of stream) {
      chunks += 1;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.delta.content) pieces.push(choice.delta.content);
        if (choice.finish_reason) finish_reason = choice.finish_reason;
      }
    }
    return { text: pieces.join(""), chunks, usage, finish_reason };
  },

  async tools() {
    const runner = client.chat.completions.stream({
      model: ECHO,
      messages: [{ role: "user", content: 'get_weather {"city": "Paris"}' }],
      tools: [WEATHER],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    return {
      finish_reason: final.choices[0].finish_reason,
      name: call.function.name,
      arguments: JSON.parse(call.function.arguments),
      id_prefix: call.id.slice(0, 5),
    };
  },

  async errors() {
    return {
      unknown_model: await caught(() =>
        client.chat.completions.create({ model: "nobody/nothing", messages: HELLO }),
      ),
      bad_value: await caught(() =>
        client.chat.completions.create({ model: ECHO, messages: HELLO, n: 0 }),
      ),
      bad_key: await caught(() =>
        new OpenAI({
          baseURL: process.env.GATEWAY_URL,
          apiKey: "wm_v2.nope.nope.nope",
          maxRetries: 0,
        }).models.list(),
      ),
    };
  },

  async embeddings() {
    const base64 = await client.embeddings.create({
      model: "writingmate/echo-embed",
      input: ["Hello", "world"],
    });
    const floats = await client.embeddings.create({
      model: "writingmate/echo-embed",
      input: ["Hello", "world"],
      encoding_format: "float",
      dimensions: 16,
    });
    const vector = base64.data[0].embedding;
    return {
      lengths: base64.data.map((d) => d.embedding.length),
      is_array: Array.isArray(vector),
      norm: Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)),
      usage: base64.usage,
      short_lengths: floats.data.map((d) => d.embedding.length),
    };
  },

  async legacy_completion() {
    const { data, response } = await client.completions
      .create({ model: ECHO, prompt: "Say this is a test" })
      .withResponse();
    return {
      object: data.object,
      id_prefix: data.id.slice(0, 5),
      model: data.model,
      choices: data.choices.map((c) => [c.index, c.text, c.finish_reason]),
      usage: data.usage,
      counted: response.headers.get("x-writingmate-messages-counted"),
    };
  },

  async legacy_completion_stream() {
    const stream = await client.completions.create({
      model: ECHO,
      prompt: ["count these words", "and these"],
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts = {};
    const finishes = {};
    const ids = new Set();
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        texts[choice.index] = (texts[choice.index] ?? "") + choice.text;
        if (choice.finish_reason) finishes[choice.index] = choice.finish_reason;
      }
    }
    return { texts, finishes, usage, chunks, ids: ids.size };
  },

  async response() {
    const { data, response } = await client.responses
      .create({ model: ECHO, input: "Hello there, gateway!", metadata: { team: "a" } })
      .withResponse();
    return {
      object: data.object,
      id_prefix: data.id.slice(0, 5),
      status: data.status,
      output_text: data.output_text,
      output: data.output.map((item) => [item.type, item.role, item.status]),
      metadata: data.metadata,
      usage: data.usage,
      request_id: data._request_id,
      counted: response.headers.get("x-writingmate-messages-counted"),
    };
  },

  async response_events() {
    const stream = await client.responses.create({
      model: ECHO,
      input: "one two three four",
      stream: true,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1);
    return {
      types: events.map((e) => e.type),
      sequence_numbers: events.map((e) => e.sequence_number),
      deltas: events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta),
      final_status: last.response.status,
      final_output: last.response.output[0].content[0].text,
      output_tokens: last.response.usage.output_tokens,
    };
  },

  async response_stream_helper() {
    const stream = client.responses.stream({ model: ECHO, input: "stream me please" });
    const deltas = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    return {
      deltas: deltas.join(""),
      output_text: final.output_text,
      status: final.status,
      id_prefix: final.id.slice(0, 5),
    };
  },

  async response_conversation() {
    const first = await client.responses.create({ model: ECHO, input: "My name is Ada" });
    const second = await client.responses.create({
      model: ECHO,
      previous_response_id: first.id,
      input: "What is my name?",
    });
    const retrieved = await client.responses.retrieve(second.id);
    const deleted = await client.responses.delete(second.id);
    return {
      second_text: second.output_text,
      second_input_tokens: second.usage.input_tokens,
      second_previous: second.previous_response_id,
      first_id: first.id,
      retrieved_same: JSON.stringify(retrieved) === JSON.stringify(second),
      retrieved_text: retrieved.output_text,
      deleted: deleted ?? null,
      retrieve_after_delete: await caught(() => client.responses.retrieve(second.id)),
      continue_after_delete: await caught(() =>
        client.responses.create({ model: ECHO, previous_response_id: second.id, input: "again" }),
      ),
      delete_again: await caught(() => client.responses.delete(second.id)),
    };
  },

  async response_tool_call() {
    const stream = client.responses.stream({
      model: ECHO,
      input: 'get_weather {"city": "Rome"}',
      tools: [WEATHER_TOOL],
    });
    const snapshots = [];
    stream.on("response.function_call_arguments.delta", (event) => snapshots.push(event.snapshot));
    const first = await stream.finalResponse();
    const [call] = first.output;
    const stored = await client.responses.create({
      model: ECHO,
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "21C" }],
      tools: [WEATHER_TOOL],
    });
    // Without storage a Node program sends the output items back exactly as it received them.
    const question = { role: "user", content: "get_weather Paris" };
    const unstored = await client.responses.create({
      model: ECHO,
      input: [question],
      tools: [WEATHER_TOOL],
      store: false,
    });
    const replayed = await client.responses.create({
      model: ECHO,
      input: [
        question,
        ...unstored.output,
        { type: "function_call_output", call_id: unstored.output[0].call_id, output: "sunny" },
      ],
      tools: [WEATHER_TOOL],
      store: false,
    });
    const chat = await client.responses.create({ model: ECHO, input: "Hi there", store: false });
    const followUp = await client.responses.create({
      model: ECHO,
      input: [
        { role: "user", content: "Hi there" },
        ...chat.output,
        { role: "user", content: "Bye" },
      ],
      store: false,
    });
    return {
      call: [call.type, call.name, JSON.parse(call.arguments), call.call_id.slice(0, 5)],
      last_snapshot: snapshots.at(-1) ?? null,
      first_output_text: first.output_text,
      stored: [stored.output_text, stored.previous_response_id === first.id],
      replayed: replayed.output_text,
      follow_up: [followUp.output_text, followUp.usage.input_tokens],
    };
  },

  async quota() {
    // The SDK's default retries: a spent daily quota must not be asked again.
    let sent = 0;
    const retrying = new OpenAI({
      baseURL: process.env.GATEWAY_URL,
      apiKey: process.env.GATEWAY_KEY,
      fetch: (url, init) => {
        sent += 1;
        return fetch(url, init);
      },
    });
    const first = await retrying.responses.create({ model: ECHO, input: "one" });
    const refused = await caught(() => retrying.responses.create({ model: ECHO, input: "two" }));
    return { first: first.output_text, refused, requests_sent: sent };
  },

  async stream_errors() {
    // Refused before any event: the SDK raises on the request, not inside the iteration.
    return {
      response_unknown_model: await caught(() =>
        client.responses.create({ model: "nobody/nothing", input: "x", stream: true }),
      ),
      completion_bad_value: await caught(() =>
        client.completions.create({ model: ECHO, prompt: "x", n: 0, stream: true }),
      ),
    };
  },

  async images() {
    const prompt = { model: ECHO_IMAGE, prompt: "A lighthouse", size: "128x96" };
    const { data: plain, response } = await client.images.generate(prompt).withResponse();
    const inline = await client.images.generate({ ...prompt, response_format: "b64_json" });
    const linked = await client.images.generate({ ...prompt, n: 2, response_format: "url" });
    const fetched = [];
    for (const image of linked.data) {
      const answer = await fetch(image.url); // the gateway's own link, without a key
      const bytes = Buffer.from(await answer.arrayBuffer());
      fetched.push({
        status: answer.status,
        content_type: answer.headers.get("content-type"),
        size: pngSize(bytes),
        same_as_inline: bytes.equals(Buffer.from(inline.data[0].b64_json, "base64")),
      });
    }
    return {
      default: {
        count: plain.data.length,
        url: plain.data[0].url ?? null,
        size: pngSize(Buffer.from(plain.data[0].b64_json, "base64")),
        created_age: Math.abs(Date.now() / 1000 - plain.created),
        images_counted: response.headers.get("x-writingmate-images-counted"),
      },
      b64_json: {
        url: inline.data[0].url ?? null,
        size: pngSize(Buffer.from(inline.data[0].b64_json, "base64")),
      },
      url: {
        b64_json: linked.data.map((image) => image.b64_json ?? null),
        prefixes: linked.data.map((image) => image.url.split("/images/files/")[0]),
        distinct: new Set(linked.data.map((image) => image.url)).size,
        fetched,
      },
    };
  },

  async image_errors() {
    return {
      unknown_model: await caught(() =>
        client.images.generate({ model: "nobody/nothing", prompt: "x" }),
      ),
      chat_model: await caught(() => client.images.generate({ model: ECHO, prompt: "x" })),
      bad_size: await caught(() =>
        client.images.generate({ model: ECHO_IMAGE, prompt: "x", size: "big" }),
      ),
      too_many: await caught(() =>
        client.images.generate({ model: ECHO_IMAGE, prompt: "x", n: 11 }),
      ),
    };
  },

  async transcriptions() {
    const wav = wavTone(2.5);
    // A file on disk, read as a stream: how OpenAI's Node examples upload audio.
    const folder = mkdtempSync(join(tmpdir(), "wmgw-node-"));
    writeFileSync(join(folder, "tone.wav"), wav);
    const { data: json, response } = await client.audio.transcriptions
      .create({ model: ECHO_TRANSCRIBE, file: createReadStream(join(folder, "tone.wav")) })
      .withResponse();
    rmSync(folder, { recursive: true });
    const verbose = await client.audio.transcriptions.create({
      model: ECHO_TRANSCRIBE,
      // A web File, as a browser or a Node 20 program has it.
      file: new File([wav], "tone.wav", { type: "audio/wav" }),
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
      language: "fr",
    });
    return {
      json: {
        text: json.text,
        usage: json.usage,
        content_type: response.headers.get("content-type"),
        counted: response.headers.get("x-writingmate-messages-counted"),
      },
      verbose_json: {
        text: verbose.text,
        duration: verbose.duration,
        language: verbose.language,
        segments: verbose.segments.map((s) => [s.id, s.start, s.end, s.text]),
        words: verbose.words.map((w) => w.word),
        first_word_start: verbose.words[0].start,
        last_word_end: verbose.words.at(-1).end,
        usage: verbose.usage,
      },
    };
  },

  // text, srt and vtt come back as text/plain: the SDK must hand over the string as it is.
  async transcriptions_as_text() {
    const wav = wavTone(2.5);
    const seen = {};
    for (const format of ["text", "srt", "vtt"]) {
      const { data, response } = await client.audio.transcriptions
        .create({
          model: ECHO_TRANSCRIBE,
          file: await toFile(wav, "tone.wav", { type: "audio/wav" }),
          response_format: format,
        })
        .withResponse();
      seen[format] = {
        type: typeof data,
        value: data,
        content_type: response.headers.get("content-type"),
      };
    }
    return seen;
  },

  async transcription_stream() {
    const stream = await client.audio.transcriptions.create({
      model: ECHO_TRANSCRIBE,
      file: await toFile(wavTone(2.5), "tone.wav", { type: "audio/wav" }),
      stream: true,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    const done = events.at(-1);
    return {
      types: [...new Set(events.slice(0, -1).map((e) => e.type))],
      deltas: events.slice(0, -1).map((e) => e.delta),
      done: [done.type, done.text],
    };
  },

  async transcription_too_large() {
    const big = Buffer.alloc(26_214_400 + 1000);
    wavTone(0).copy(big); // a WAV header, then silence past the 25 MB limit
    const file = await toFile(big, "big.wav", { type: "audio/wav" });
    return caught(() => client.audio.transcriptions.create({ model: ECHO_TRANSCRIBE, file }));
  },

  async transcription_errors() {
    const file = await toFile(wavTone(0.5), "tone.wav", { type: "audio/wav" });
    return {
      bad_format: await caught(() =>
        client.audio.transcriptions.create({
          model: ECHO_TRANSCRIBE,
          file,
          response_format: "mp3",
        }),
      ),
      chat_model: await caught(() => client.audio.transcriptions.create({ model: ECHO, file })),
    };
  },

  async videos() {
    const { data: created, response } = await client.videos
      .create({
        model: ECHO_VIDEO,
        prompt: "A calico cat playing a piano",
        seconds: "4",
        size: "1280x720",
      })
      .withResponse();
    // The Node SDK (unlike the Python one) has no poll helper for videos: retrieve until done,
    // at the pace the `openai-poll-after-ms` header asks for.
    const pause = Number(response.headers.get("openai-poll-after-ms") ?? 1000);
    const seen = [];
    let video = created;
    const deadline = Date.now() + 30_000;
    while (!["completed", "failed"].includes(video.status) && Date.now() < deadline) {
      await sleep(pause);
      video = await client.videos.retrieve(created.id);
      seen.push([video.status, video.progress]);
    }
    const content = await client.videos.downloadContent(video.id);
    const bytes = Buffer.from(await content.arrayBuffer());
    const thumbnail = await client.videos.downloadContent(video.id, { variant: "thumbnail" });
    const picture = Buffer.from(await thumbnail.arrayBuffer());
    return {
      created: {
        object: created.object,
        id_prefix: created.id.slice(0, 6),
        status: created.status,
        progress: created.progress,
        model: created.model,
        seconds: created.seconds,
        size: created.size,
        prompt: created.prompt,
      },
      poll_after_ms: pause,
      counted: response.headers.get("x-writingmate-messages-counted"),
      seen,
      final: {
        status: video.status,
        progress: video.progress,
        error: video.error ?? null,
        completed: typeof video.completed_at === "number",
      },
      content: {
        status: content.status,
        content_type: content.headers.get("content-type"),
        box: bytes.toString("latin1", 4, 8),
        has_mdat: bytes.includes("mdat"),
        bytes: bytes.length,
      },
      thumbnail: {
        content_type: thumbnail.headers.get("content-type"),
        riff: picture.toString("latin1", 0, 4),
        format: picture.toString("latin1", 8, 12),
      },
    };
  },

  async video_errors() {
    const waiting = await client.videos.create({
      model: ECHO_VIDEO,
      prompt: "Wait",
      seconds: "12",
    });
    return {
      bad_seconds: await caught(() =>
        client.videos.create({ model: ECHO_VIDEO, prompt: "x", seconds: "5" }),
      ),
      chat_model: await caught(() => client.videos.create({ model: ECHO, prompt: "x" })),
      not_ready: await caught(() => client.videos.downloadContent(waiting.id)),
      unknown: await caught(() => client.videos.retrieve("video_nope")),
    };
  },
};

const scenario = scenarios[process.argv[2]];
if (!scenario) {
  console.error(`unknown scenario: ${process.argv[2]}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenario()));
