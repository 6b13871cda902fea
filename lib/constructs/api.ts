import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../functions/routes.js';

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * An HTTP API stage's default route throttling limits each route separately
 * (API Gateway calls it route-level throttling; there is no stage-wide bucket),
 * so the whole API's budget is split evenly: the routes' limits add up to at
 * most the budget.
 */
export function routeThrottle(api: Throttle, routes: number): Throttle {
  return {
    rateLimit: Math.floor((api.rateLimit / routes) * 100) / 100,
    burstLimit: Math.max(1, Math.floor(api.burstLimit / routes)),
  };
}

export interface ApiProps {
  /** Requests per second and burst of the whole API, split evenly across `routeCount` routes. */
  readonly throttle: Throttle;
  readonly routeCount: number;
  readonly accessLogRetention: RetentionDays;
  /** Browser origins allowed by CORS; none by default (a backend-to-backend API). */
  readonly allowedOrigins?: readonly string[];
  readonly apiName?: string;
}

/**
 * Access log fields: who, which route, what status and how long. Deliberately
 * not the path (it can carry an email or phone number), the query string or
 * the body; `routeKey` names the endpoint without its parameters.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

/**
 * The HTTP API: exactly the routes of the route table (payload format 2.0),
 * one `$default` stage with per-route throttling and JSON access logs.
 */
export class TwofoldApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly routes: HttpRoute[] = [];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const origins = props.allowedOrigins ?? [];
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.apiName,
      description: 'Twofold authentication API',
      createDefaultStage: false,
      ...(origins.length
        ? {
            corsPreflight: {
              allowOrigins: [...origins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PUT, CorsHttpMethod.DELETE],
              allowHeaders: ['authorization', 'content-type'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: routeThrottle(props.throttle, props.routeCount),
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /** The base URL, without a trailing slash (`https://<id>.execute-api.<region>.amazonaws.com`). */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }

  addRoute(route: RouteDefinition, fn: IFunction): HttpRoute[] {
    const added = this.httpApi.addRoutes({
      path: route.path,
      methods: [HttpMethod[route.method]],
      integration: new HttpLambdaIntegration(`${route.name}-integration`, fn),
    });
    this.routes.push(...added);
    return added;
  }
}
