import { Duration, Lazy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CfnStage, CorsHttpMethod, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../functions/routes.js';
import type { Throttle } from '../throttles.js';

export type { Throttle } from '../throttles.js';

export interface ApiProps {
  /** Each route's rate and burst, by route name (lib/throttles.ts `throttleTable`). */
  readonly throttles: ReadonlyMap<string, Throttle>;
  /** The stage's default route throttle; routes whose own differs get route settings. */
  readonly defaultThrottle: Throttle;
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
 * one `$default` stage with per-route throttling (each route its own limit,
 * from the throttle table) and JSON access logs.
 */
export class TwofoldApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly routes: HttpRoute[] = [];
  private readonly props: ApiProps;
  /** RouteSettings of the stage: the routes whose throttle is not the default, by route key. */
  private readonly routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.props = props;
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
      throttle: { rateLimit: props.defaultThrottle.rateLimit, burstLimit: props.defaultThrottle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    (this.stage.node.defaultChild as CfnStage).routeSettings = Lazy.any({ produce: () => (Object.keys(this.routeSettings).length ? this.routeSettings : undefined) });
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
    const throttle = this.props.throttles.get(route.name);
    if (!throttle) throw new Error(`the throttle table has no entry for route ${route.name}`);
    const fallback = this.props.defaultThrottle;
    if (throttle.rateLimit !== fallback.rateLimit || throttle.burstLimit !== fallback.burstLimit) {
      this.routeSettings[`${route.method} ${route.path}`] = { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit };
      // A stage's route settings must name routes that exist already.
      for (const httpRoute of added) this.stage.node.addDependency(httpRoute);
    }
    return added;
  }
}
