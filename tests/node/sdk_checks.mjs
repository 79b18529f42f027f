// Drives a running gateway with the official openai Node SDK and prints what a user of the
// SDK observes, as one JSON object, for tests/test_node_sdk.py to assert on.
// Usage: GATEWAY_URL=http://.../api/openai/v1 GATEWAY_KEY=wm_v2... node sdk_checks.mjs <scenario>
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.GATEWAY_URL,
  apiKey: process.env.GATEWAY_KEY,
  maxRetries: 0,
});
const ECHO = "writingmate/echo";
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

const scenarios = {
  async models() {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return { ids };
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
};

const scenario = scenarios[process.argv[2]];
if (!scenario) {
  console.error(`unknown scenario: ${process.argv[2]}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenario()));
