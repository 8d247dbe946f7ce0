import type { FastifyInstance } from 'fastify';
import type { CommandService } from '../commands/command-service';
import { BODY_LIMITS, commandOutcomeSchema, commandSchema, errorResponses, noQuery, tenantCommandParams, tenantParams, whoMay } from './api-schemas';

/**
 * Plugin commands: product actions per tenant (start Gradient's academic year, import School
 * Manager's accounts…). The role check and the tenant's existence are settled before a route runs
 * (`config.tenantRoute`); the arguments are checked by the command service against the schema the
 * command's manifest declares.
 */
export function registerCommandRoutes(app: FastifyInstance, deps: { commands: CommandService }): void {
  app.get<{ Params: { id: string } }>(
    '/tenants/:id/commands',
    {
      config: { access: 'read', tenantRoute: true },
      schema: {
        tags: ['commands'],
        summary: 'The commands of the plugins the tenant enables, with their argument schemas.',
        description: whoMay('read', 'tenant'),
        params: tenantParams,
        querystring: noQuery,
        response: {
          200: {
            description: "The tenant's commands.",
            type: 'object',
            required: ['tenant', 'commands'],
            properties: { tenant: { type: 'string' }, commands: { type: 'array', items: commandSchema } },
          },
          ...errorResponses(401, 403, 404, 422),
        },
      },
    },
    async (request) => ({ tenant: request.params.id, commands: deps.commands.list(request.params.id) }),
  );

  app.post<{ Params: { id: string; command: string }; Body: Record<string, unknown> | null }>(
    '/tenants/:id/commands/:command',
    {
      config: { access: 'operate', tenantRoute: true },
      bodyLimit: BODY_LIMITS.command,
      schema: {
        tags: ['commands'],
        summary: "Runs a plugin's command for the tenant; the body is its arguments.",
        description:
          `${whoMay('operate', 'tenant')} The arguments are checked against the command's schema (400 COMMAND_ARGUMENTS_INVALID naming the argument); ` +
          'a command of no installed plugin is 404 COMMAND_UNKNOWN, of a plugin the tenant does not enable 409 COMMAND_NOT_ENABLED; a command that writes ' +
          "runs as the tenant's one operation (409 TENANT_BUSY while another is under way); the product's refusal is 422 COMMAND_REFUSED.",
        params: tenantCommandParams,
        body: { type: 'object', nullable: true, additionalProperties: true, description: "The command's arguments (no body: none)." },
        querystring: noQuery,
        response: {
          200: { ...commandOutcomeSchema, description: 'The command ran; its result.' },
          ...errorResponses(401, 403, 404, 409, 413, 415, 422, 502, 503, 504),
        },
      },
    },
    async (request, reply) => {
      const controller = new AbortController();
      // A caller that hangs up stops the command (its handler's transaction is rolled back).
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) controller.abort();
      });
      return deps.commands.run(request.params.id, request.params.command, request.body ?? {}, { by: request.principal!.name, signal: controller.signal });
    },
  );
}
