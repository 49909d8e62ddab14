# expect: docker.user-root:10
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY . .
RUN mvn -q package -DskipTests

FROM eclipse-temurin:21-jre
COPY --from=build /src/target/app.jar /app.jar
# someone needed to install a package and never switched back
USER root
HEALTHCHECK CMD curl -fsS http://127.0.0.1:8080/actuator/health
ENTRYPOINT ["java", "-jar", "/app.jar"]
