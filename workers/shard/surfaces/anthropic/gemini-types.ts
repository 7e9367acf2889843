/**
 * The parts of Gemini's native REST shapes (v1beta `generateContent`, `streamGenerateContent`, `countTokens`) that
 * the Anthropic adapter writes or reads. Field names are Google's JSON spelling (lowerCamelCase).
 */

export interface GeminiInlineData {
  readonly mimeType: string;
  /** base64 */
  readonly data: string;
}

export interface GeminiFileData {
  readonly fileUri: string;
  readonly mimeType?: string;
}

export interface GeminiFunctionCall {
  readonly name: string;
  readonly args?: Record<string, unknown>;
  readonly id?: string;
}

export interface GeminiFunctionResponse {
  readonly name: string;
  readonly response: Record<string, unknown>;
  readonly id?: string;
}

/** One part of a content; exactly one of the data fields is set (text may sit beside `thought`). */
export interface GeminiPart {
  readonly text?: string;
  /** marks a text part as a thought summary (only with `includeThoughts`) */
  readonly thought?: boolean;
  /** opaque, base64; must go back in the part it came on (Gemini 3 refuses a function call turn without it) */
  readonly thoughtSignature?: string;
  readonly inlineData?: GeminiInlineData;
  readonly fileData?: GeminiFileData;
  readonly functionCall?: GeminiFunctionCall;
  readonly functionResponse?: GeminiFunctionResponse;
}

export interface GeminiContent {
  readonly role: 'user' | 'model';
  readonly parts: readonly GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  readonly name: string;
  readonly description?: string;
  /** full JSON Schema (the older `parameters` field takes only an OpenAPI subset) */
  readonly parametersJsonSchema?: unknown;
}

export interface GeminiToolConfig {
  readonly functionCallingConfig: {
    readonly mode: 'AUTO' | 'ANY' | 'NONE';
    readonly allowedFunctionNames?: readonly string[];
  };
}

export interface GeminiGenerationConfig {
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly stopSequences?: readonly string[];
  readonly thinkingConfig?: { readonly thinkingBudget?: number; readonly includeThoughts?: boolean };
  readonly responseMimeType?: string;
  readonly responseJsonSchema?: unknown;
}

export interface GeminiGenerateContentRequest {
  readonly contents: readonly GeminiContent[];
  readonly systemInstruction?: { readonly parts: readonly GeminiPart[] };
  readonly tools?: readonly { readonly functionDeclarations: readonly GeminiFunctionDeclaration[] }[];
  readonly toolConfig?: GeminiToolConfig;
  readonly generationConfig?: GeminiGenerationConfig;
}

/** `usageMetadata` of a reply; every count is optional (early stream chunks carry only some). */
export interface GeminiUsage {
  readonly promptTokenCount?: number;
  readonly candidatesTokenCount?: number;
  readonly thoughtsTokenCount?: number;
  readonly cachedContentTokenCount?: number;
  readonly toolUsePromptTokenCount?: number;
  readonly totalTokenCount?: number;
}
