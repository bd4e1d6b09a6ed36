import { parseAllDocuments } from 'yaml';
import * as z from 'zod';

/** What every rendered object has; the rest is checked against its kind's schema. */
const renderedObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

export type RenderedObject = z.output<typeof renderedObjectSchema>;

/** `Kind/name`, as every problem names the object it is about. */
export const idOf = (object: Pick<RenderedObject, 'kind' | 'metadata'>): string =>
  `${object.kind}/${object.metadata.name}`;

/** The objects of a multi-document YAML stream (kubectl kustomize's output), each checked for the basics. */
export function parseRendered(text: string, source: string): RenderedObject[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length > 0)
      throw new Error(`${source}, document ${index + 1}: ${document.errors[0]?.message ?? 'bad YAML'}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return [];
    const parsed = renderedObjectSchema.safeParse(value);
    if (!parsed.success)
      throw new Error(
        `${source}, document ${index + 1}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    return [parsed.data];
  });
}
