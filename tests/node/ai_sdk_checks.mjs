// Drives a running gateway with the Vercel AI SDK and its `@ai-sdk/openai-compatible` provider,
// the way OpenCode calls a custom provider, and prints what a user of the SDK observes, as one
// JSON object, for tests/test_ai_sdk.py to assert on.
// Usage: GATEWAY_URL=http://.../api/openai/v1 GATEWAY_KEY=wm_v2... node ai_sdk_checks.mjs <scenario>
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText, tool } from "ai";
import { z } from "zod";

const gateway = createOpenAICompatible({
  name: "writingmate",
  baseURL: process.env.GATEWAY_URL,
  apiKey: process.env.GATEWAY_KEY,
  includeUsage: true, // streams end with a usage chunk (stream_options.include_usage)
});
const echo = gateway.chatModel("writingmate/echo");

function usageOf(usage) {
  return {
    input: usage.inputTokens,
    output: usage.outputTokens,
    total: usage.totalTokens,
  };
}

const scenarios = {
  async generate() {
    const result = await generateText({
      model: echo,
      prompt: "Hello from the AI SDK!",
      maxRetries: 0,
    });
    return {
      text: result.text,
      finish_reason: result.finishReason,
      usage: usageOf(result.usage),
      model: result.response.modelId,
      counted: result.response.headers?.["x-writingmate-messages-counted"] ?? null,
    };
  },

  async stream() {
    const result = streamText({
      model: echo,
      system: "Be brief.",
      prompt: "Stream these few words back",
      maxRetries: 0,
    });
    const deltas = [];
    for await (const delta of result.textStream) {
      deltas.push(delta);
    }
    return {
      deltas,
      text: await result.text,
      finish_reason: await result.finishReason,
      usage: usageOf(await result.usage),
    };
  },

  async tool_call() {
    const result = await generateText({
      model: echo,
      prompt: 'Call get_weather with {"city": "Paris"}',
      tools: {
        get_weather: tool({
          description: "The weather in a city",
          inputSchema: z.object({ city: z.string() }),
        }),
      },
      maxRetries: 0,
    });
    return {
      finish_reason: result.finishReason,
      calls: result.toolCalls.map((call) => [call.toolName, call.input]),
    };
  },

  async unknown_model() {
    try {
      await generateText({
        model: gateway.chatModel("writingmate/nope"),
        prompt: "Hi",
        maxRetries: 0,
      });
      return { raised: null };
    } catch (error) {
      return {
        raised: error.constructor.name,
        status: error.statusCode ?? null,
        message: error.message,
      };
    }
  },
};

const scenario = scenarios[process.argv[2]];
if (!scenario) {
  console.error(`unknown scenario: ${process.argv[2]}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenario()));
