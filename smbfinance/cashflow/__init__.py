"""Cash flow: today's position, a forecast with a P10/P90 band and its reasons, scenarios,
KPIs and low-cash alerts (issue 6).

The engine modules (stats, conversion, delays, recurring, forecast, scenarios, kpis,
backtest) are pure: plain inputs in, plain outputs out, no database and no Flask. The
service gathers their inputs with aggregated SQL; the doors only map shapes.
"""
