package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dealflow/activities/store"
)

//go:embed openapi.yaml
var openAPI []byte

// routes registers every route in one place; openapi_test.go checks that
// each is documented in openapi.yaml.
func (s *Server) routes(e *echo.Echo, deps Deps) {
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover(), requestIDs)
	if deps.Metrics != nil {
		e.Use(httpMetrics(deps.Metrics))
	}
	e.Use(s.logRequests)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	metrics := deps.MetricsHandler
	if metrics == nil {
		metrics = promhttp.Handler()
	}
	e.GET("/metrics", echo.WrapHandler(metrics))
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })

	v1 := e.Group("/v1", s.authenticate, textParams)
	v1.GET("/me", s.me)
	v1.GET("/inbox", s.inbox)

	v1.GET("/deals", s.listDeals)
	v1.GET("/deals/:id", s.getDeal)
	v1.GET("/deals/:id/events", s.dealEvents)
	v1.POST("/deals", s.createDeal, requireRole(store.RolePMO))
	s.actionRoutes(v1.Group("", requireRole(actingRoles...)))

	v1.GET("/templates", s.listTemplates)
	v1.GET("/templates/:name", s.getTemplate)
	v1.POST("/templates", s.saveTemplate, requireRole(store.RolePMO))

	v1.GET("/users", s.listUsers, requireRole(store.RoleAdmin))
	v1.POST("/users", s.createUser, requireRole(store.RoleAdmin))
	v1.PATCH("/users/:id", s.updateUser, requireRole(store.RoleAdmin))
	v1.GET("/users/:id/tokens", s.listTokens)
	v1.POST("/users/:id/tokens", s.createToken, requireRole(store.RoleAdmin))
	v1.DELETE("/tokens/:id", s.revokeToken, requireRole(store.RoleAdmin))
	s.recordingRoutes(v1)

	s.funnelRoutes(v1)
	s.coverageRoutes(v1)

	if deps.Console != nil {
		deps.Console.Mount(e, e)
	}
}
