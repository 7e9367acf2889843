/**
 * Gemini's native request as the Responses surface writes it: the shapes the Anthropic surface shares
 * (`../anthropic/gemini-types.ts`), plus what only this surface sends: thinking levels (Gemini 3), Google Search
 * next to functions, and the server-side tool parts such a turn carries.
 */
import type {
  GeminiContent,
  GeminiFunctionDeclaration,
  GeminiGenerationConfig,
  GeminiPart as SharedPart,
} from '../anthropic/gemini-types';

export type { GeminiFunctionDeclaration, GeminiUsage } from '../anthropic/gemini-types';

/** A part, including the server-side tool parts a Google Search turn holds (carried back as they came). */
export interface GeminiPart extends SharedPart {
  readonly toolCall?: Record<string, unknown>;
  readonly toolResponse?: Record<string, unknown>;
  readonly executableCode?: Record<string, unknown>;
  readonly codeExecutionResult?: Record<string, unknown>;
}

export interface GeminiTurn {
  readonly role: GeminiContent['role'];
  readonly parts: readonly GeminiPart[];
}

export interface GeminiThinkingConfig {
  /** Gemini 2.x: a token budget (0 turns thinking off where the model allows it) */
  readonly thinkingBudget?: number;
  /** Gemini 3 and later: `minimal`, `low`, `medium` or `high` (which the model accepts depends on the model) */
  readonly thinkingLevel?: string;
  readonly includeThoughts?: boolean;
}

export interface GeminiConfig extends Omit<GeminiGenerationConfig, 'thinkingConfig'> {
  readonly thinkingConfig?: GeminiThinkingConfig;
}

export type GeminiTool =
  | { readonly functionDeclarations: readonly GeminiFunctionDeclaration[] }
  | { readonly googleSearch: Record<string, never> };

export interface GeminiToolSettings {
  readonly functionCallingConfig?: {
    /** VALIDATED: the model may answer in text or call one of `allowedFunctionNames` */
    readonly mode: 'AUTO' | 'ANY' | 'NONE' | 'VALIDATED';
    readonly allowedFunctionNames?: readonly string[];
  };
  /** needed for Google Search next to functions (Gemini 3): the turn then shows the search as parts */
  readonly includeServerSideToolInvocations?: boolean;
}

export interface GeminiRequest {
  readonly contents: readonly GeminiTurn[];
  readonly systemInstruction?: { readonly parts: readonly GeminiPart[] };
  readonly tools?: readonly GeminiTool[];
  readonly toolConfig?: GeminiToolSettings;
  readonly generationConfig?: GeminiConfig;
}
