/**
 * Gemini native API answers in the shapes Google sends them (`generateContent`, `streamGenerateContent?alt=sse`,
 * `countTokens`, error bodies), for the Anthropic adapter's tests. Signatures are opaque base64 as Google's are,
 * with `+`, `/` and `=` in them, so the tool_use id encoding is exercised on the characters that matter.
 */

export const SIGNATURE_CALL = 'CrUBAdHtim9+Yk3xY/QzL0c2fT8v+9aQ1ZmFrZS1zaWduYXR1cmUtZm9yLWEtY2FsbA==';
export const SIGNATURE_TEXT = 'CiQB0e2Kb7vXh/+c2lnbmF0dXJlLW9uLWEtdGV4dC1wYXJ0Lg==';

/** A plain answer, with implicit caching and thinking tokens in its usage. */
export const TEXT_REPLY = {
  candidates: [
    {
      content: { parts: [{ text: 'Paris is the capital of France.' }], role: 'model' },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: {
    promptTokenCount: 120,
    candidatesTokenCount: 8,
    totalTokenCount: 178,
    cachedContentTokenCount: 100,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 120 }],
    thoughtsTokenCount: 50,
  },
  modelVersion: 'gemini-3.5-flash',
  responseId: 'pQ4xaO2bFJXinvgP3Yi0sAM',
};

/** Gemini 3 with includeThoughts: a thought summary, then a function call carrying the turn's thought signature. */
export const THINKING_CALL_REPLY = {
  candidates: [
    {
      content: {
        parts: [
          {
            text: '**Checking the weather**\n\nThe user wants the weather in Paris, so I will call get_weather.',
            thought: true,
          },
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
            thoughtSignature: SIGNATURE_CALL,
          },
        ],
        role: 'model',
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 61, candidatesTokenCount: 18, totalTokenCount: 143, thoughtsTokenCount: 64 },
  modelVersion: 'gemini-3.8-flash',
  responseId: 'Zk4xaJ7WJ8GGvdIPsN6k-Ag',
};

/** Parallel calls: only the first functionCall part carries the signature. Gemini 3 gives each call an id. */
export const PARALLEL_CALLS_REPLY = {
  candidates: [
    {
      content: {
        parts: [
          {
            functionCall: { id: 'call-tokyo-7f2a', name: 'get_weather', args: { city: 'Tokyo' } },
            thoughtSignature: SIGNATURE_CALL,
          },
          { functionCall: { id: 'call-lima-9c41', name: 'get_weather', args: { city: 'Lima' } } },
        ],
        role: 'model',
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 70, candidatesTokenCount: 30, totalTokenCount: 100 },
  modelVersion: 'gemini-3.8-flash',
  responseId: 'q04xaP_LBoqJ7M8Pj5mP0Ak',
};

/** The answer after the function ran: thoughts, then text whose part carries the signature. */
export const THINKING_TEXT_REPLY = {
  candidates: [
    {
      content: {
        parts: [
          { text: 'The tool says 18 °C and sunny.', thought: true },
          { text: 'It is 18 °C and sunny in Paris.', thoughtSignature: SIGNATURE_TEXT },
        ],
        role: 'model',
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 160, candidatesTokenCount: 11, totalTokenCount: 200, thoughtsTokenCount: 29 },
  modelVersion: 'gemini-3.8-flash',
  responseId: 'r04xaNDqCtGFvdIP7IGfmQc',
};

export const MAX_TOKENS_REPLY = {
  candidates: [{ content: { parts: [{ text: 'Once upon a' }], role: 'model' }, finishReason: 'MAX_TOKENS', index: 0 }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
  modelVersion: 'gemini-3.5-flash',
};

/** The reply withheld by Google's safety filter: a candidate without content. */
export const SAFETY_REPLY = {
  candidates: [
    {
      finishReason: 'SAFETY',
      index: 0,
      safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
    },
  ],
  usageMetadata: { promptTokenCount: 14, totalTokenCount: 14 },
  modelVersion: 'gemini-3.5-flash',
};

/** The prompt itself blocked: no candidates at all. */
export const PROMPT_BLOCKED_REPLY = {
  promptFeedback: {
    blockReason: 'PROHIBITED_CONTENT',
    safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' }],
  },
  usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
  modelVersion: 'gemini-3.5-flash',
};

export const MALFORMED_CALL_REPLY = {
  candidates: [
    {
      content: { parts: [], role: 'model' },
      finishReason: 'MALFORMED_FUNCTION_CALL',
      finishMessage: 'Malformed function call: print(default_api.get_weather(city=Paris))',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 40, totalTokenCount: 40 },
  modelVersion: 'gemini-3.5-flash',
};

export const NO_CANDIDATE_REPLY = {
  usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 },
  modelVersion: 'gemini-3.5-flash',
};

export const COUNT_TOKENS_REPLY = { totalTokens: 31, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 31 }] };

/** Streamed text with thoughts: chunk boundaries inside words, non-ASCII text, usage on every chunk. */
export const THINKING_TEXT_CHUNKS: readonly Record<string, unknown>[] = [
  {
    candidates: [{ content: { parts: [{ text: 'Greeting in German, ', thought: true }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 12, totalTokenCount: 40, thoughtsTokenCount: 28 },
    modelVersion: 'gemini-3.8-flash',
    responseId: 'c04xaKHqMZ2CvdIP',
  },
  {
    candidates: [{ content: { parts: [{ text: 'with an emoji.', thought: true }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 12, totalTokenCount: 52, thoughtsTokenCount: 40 },
    modelVersion: 'gemini-3.8-flash',
    responseId: 'c04xaKHqMZ2CvdIP',
  },
  {
    candidates: [
      { content: { parts: [{ text: 'Grüße ', thoughtSignature: SIGNATURE_TEXT }], role: 'model' }, index: 0 },
    ],
    usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 2, totalTokenCount: 54, thoughtsTokenCount: 40 },
    modelVersion: 'gemini-3.8-flash',
    responseId: 'c04xaKHqMZ2CvdIP',
  },
  {
    candidates: [{ content: { parts: [{ text: 'aus Köln 👋' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 7, totalTokenCount: 59, thoughtsTokenCount: 40 },
    modelVersion: 'gemini-3.8-flash',
    responseId: 'c04xaKHqMZ2CvdIP',
  },
];

/** Streamed text, then a function call in the last chunk. */
export const TEXT_CALL_CHUNKS: readonly Record<string, unknown>[] = [
  {
    candidates: [{ content: { parts: [{ text: 'Let me check.' }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 30, totalTokenCount: 34, candidatesTokenCount: 4 },
    modelVersion: 'gemini-3.8-flash',
  },
  {
    candidates: [
      {
        content: {
          parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SIGNATURE_CALL }],
          role: 'model',
        },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 12, totalTokenCount: 42 },
    modelVersion: 'gemini-3.8-flash',
  },
];

/** An SSE body as Google writes it (`data: <json>` events separated by CRLF pairs). */
export function geminiSse(chunks: readonly unknown[], separator = '\r\n\r\n'): string {
  return chunks.map((c) => `data: ${JSON.stringify(c)}${separator}`).join('');
}

export const GOOGLE_RATE_LIMIT = {
  error: {
    code: 429,
    message: 'You exceeded your current quota, please check your plan and billing details.',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' }],
  },
};

export const GOOGLE_INVALID_ARGUMENT = {
  error: {
    code: 400,
    message: 'Request contains an invalid argument.',
    status: 'INVALID_ARGUMENT',
  },
};

export const GOOGLE_OVERLOADED = {
  error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' },
};
